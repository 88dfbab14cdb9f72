//! `/api/v1/auth/*`, `/api/v1/me`, `/api/v1/sessions` and
//! `/api/v1/api-keys`: signing up, in and out, the caller's own sessions and
//! API keys.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use service::auth::{Actor, accounts, api_keys, sessions};
use types::ApiKeyId;
use types::account::{
    ApiKeyInfo, CreateApiKey, CreatedApiKey, LoginRequest, Me, SessionInfo, SignupRequest,
};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

fn signed_in(state: &AppState, status: StatusCode, me: Me, token: &str) -> Response {
    let cookie = state
        .cookies
        .session(token, state.services.sessions.absolute);
    (status, [(header::SET_COOKIE, cookie)], Json(me)).into_response()
}

/// `POST /api/v1/auth/signup {email, password, name}`: 201 and signed in.
pub async fn signup(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Body(request): Body<SignupRequest>,
) -> Result<Response, AppError> {
    caller.actor.require_browser()?;
    state.limits.signup(caller.meta.ip.parse().ok())?;
    let (me, session) = accounts::signup(&state.services, request, &caller.meta).await?;
    end_previous_session(&state, &caller.actor).await?;
    Ok(signed_in(&state, StatusCode::CREATED, me, &session.token))
}

/// `POST /api/v1/auth/login {email, password}`: a new session (a new id, so
/// a planted cookie gains nothing).
pub async fn login(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Body(request): Body<LoginRequest>,
) -> Result<Response, AppError> {
    caller.actor.require_browser()?;
    state
        .limits
        .login(caller.meta.ip.parse().ok(), &request.email)?;
    let (me, session) = accounts::login(&state.services, request, &caller.meta).await?;
    end_previous_session(&state, &caller.actor).await?;
    Ok(signed_in(&state, StatusCode::OK, me, &session.token))
}

/// Signing in (or up) while signed in ends the old session: one browser,
/// one session.
async fn end_previous_session(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    if let Some(previous) = actor.session_id() {
        let mut conn = state.services.conn().await?;
        sessions::revoke(&mut conn, previous).await?;
    }
    Ok(())
}

/// `POST /api/v1/auth/logout`: 204, session ended, cookie cleared.
pub async fn logout(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Response, AppError> {
    accounts::logout(&state.services, &caller.actor, &caller.meta).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookies.cleared())],
    )
        .into_response())
}

/// `GET /api/v1/me`
pub async fn me(call: Call) -> Reply<Me> {
    Ok(Json(accounts::me(&call.services, &call.actor).await?))
}

/// `GET /api/v1/sessions`
pub async fn list_sessions(call: Call) -> Reply<Vec<SessionInfo>> {
    Ok(Json(sessions::list(&call.services, &call.actor).await?))
}

/// `POST /api/v1/sessions/revoke-others`: signs out every other device.
pub async fn revoke_other_sessions(call: Call) -> Reply<serde_json::Value> {
    let ended = sessions::revoke_others(&call.services, &call.actor, &call.meta).await?;
    Ok(Json(json!({ "ended": ended })))
}

/// `GET /api/v1/api-keys`
pub async fn list_keys(call: Call) -> Reply<Vec<ApiKeyInfo>> {
    Ok(Json(api_keys::list(&call.services, &call.actor).await?))
}

/// `POST /api/v1/api-keys {name, scopes, expires_in_days?, workspace?}`:
/// 201 with the token, shown this once.
pub async fn create_key(call: Call, Body(request): Body<CreateApiKey>) -> Answer<CreatedApiKey> {
    created(api_keys::create(&call.services, &call.actor, request, &call.meta).await?)
}

/// `DELETE /api/v1/api-keys/{id}`: 204.
pub async fn revoke_key(call: Call, PathId(id): PathId<ApiKeyId>) -> Result<StatusCode, AppError> {
    api_keys::revoke(&call.services, &call.actor, id, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/api-keys/{id}/spend-cap`: `{"monthly_credits": n}` or
/// `null` to lift it; the key's owner only.
pub async fn change_key_spend_cap(
    call: Call,
    PathId(id): PathId<ApiKeyId>,
    Body(cap): Body<types::deploy::SpendCap>,
) -> Reply<ApiKeyInfo> {
    let key = api_keys::change_spend_cap(
        &call.services,
        &call.actor,
        id,
        cap.monthly_credits,
        &call.meta,
    )
    .await?;
    Ok(Json(key))
}
