//! `/api/v1/auth/*`, `/api/v1/me`, `/api/v1/sessions` and
//! `/api/v1/api-keys`: signing up, in and out, the caller's own sessions and
//! API keys. Getting back in (reset links, verification, password and
//! address changes) is in `recovery`.

pub mod recovery;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use service::auth::door::{BrowserDoor, SessionCookie};
use service::auth::{accounts, api_keys, sessions};
use std::sync::Arc;
use types::ApiKeyId;
use types::account::{
    ApiKeyInfo, CreateApiKey, CreatedApiKey, LoginRequest, Me, SessionInfo, SignupRequest,
};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

/// The browser's door for this request, over the server's sign-in limits,
/// with the device cookie the browser sent.
pub fn door(state: &AppState, headers: &HeaderMap) -> BrowserDoor {
    BrowserDoor::new(Arc::new(state.limits.clone()))
        .with_device_cookie(state.cookies.device_token(headers))
}

/// `response` with the cookies the door left (a new session, or cleared;
/// the device cookie of a browser that signed in).
pub fn with_cookie(state: &AppState, door: &BrowserDoor, mut response: Response) -> Response {
    let outcome = door.outcome();
    if let Some(device) = &outcome.device {
        response
            .headers_mut()
            .append(header::SET_COOKIE, state.cookies.device(device));
    }
    let cookie = match outcome.cookie {
        Some(SessionCookie::Set(token)) => Some(
            state
                .cookies
                .session(&token, state.services.sessions.absolute),
        ),
        Some(SessionCookie::Cleared) => Some(state.cookies.cleared()),
        None => None,
    };
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /api/v1/auth/signup {email, password, name}`: 201 and signed in.
pub async fn signup(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Body(request): Body<SignupRequest>,
) -> Result<Response, AppError> {
    let door = door(&state, &headers);
    let me = door
        .sign_up(&state.services, &caller.actor, &caller.meta, request)
        .await?;
    Ok(with_cookie(
        &state,
        &door,
        (StatusCode::CREATED, Json(me)).into_response(),
    ))
}

/// `POST /api/v1/auth/login {email, password}`: a new session (a new id, so
/// a planted cookie gains nothing).
pub async fn login(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Body(request): Body<LoginRequest>,
) -> Result<Response, AppError> {
    let door = door(&state, &headers);
    let me = door
        .sign_in(&state.services, &caller.actor, &caller.meta, request)
        .await?;
    Ok(with_cookie(&state, &door, Json(me).into_response()))
}

/// `POST /api/v1/auth/logout`: 204, session ended, cookie cleared.
pub async fn logout(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Response, AppError> {
    let door = door(&state, &HeaderMap::new());
    door.sign_out(&state.services, &caller.actor, &caller.meta)
        .await?;
    Ok(with_cookie(
        &state,
        &door,
        StatusCode::NO_CONTENT.into_response(),
    ))
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
