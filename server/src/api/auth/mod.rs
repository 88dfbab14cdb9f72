//! `/api/v1/auth/*`, `/api/v1/me`, `/api/v1/sessions` and
//! `/api/v1/api-keys`: signing up, in and out, the caller's own sessions and
//! API keys (`device` signs a command line in through the browser). Getting back in (reset links, verification, password and
//! address changes) is in `recovery`.

pub mod device;
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
use types::error::ErrorEnvelope;

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
/// the device cookie of a browser that signed in; a connection's sign-in
/// flow).
pub fn with_cookie(state: &AppState, door: &BrowserDoor, mut response: Response) -> Response {
    let outcome = door.outcome();
    if let Some(flow) = &outcome.connect_flow {
        response
            .headers_mut()
            .append(header::SET_COOKIE, state.cookies.connect_flow(flow));
    }
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

/// Sign up
///
/// Makes an account with an email address and a password, and signs this
/// browser in to it; a verification link goes to the address. For browsers,
/// never API keys.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "The account, made and signed in", body = Me,
            headers(("Set-Cookie" = String, description = "The new session's cookie, and the \
                device cookie of a browser that signed in"))),
        (status = 409, description = "An account has this email address already",
            body = ErrorEnvelope),
    ),
    security(())
)]
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

/// Sign in
///
/// Checks an email address and password and starts a new session (a new id,
/// so a planted cookie gains nothing); the browser's previous session ends.
/// For browsers, never API keys.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Me,
            headers(("Set-Cookie" = String, description = "The new session's cookie, and the \
                device cookie of a browser that signed in"))),
    ),
    security(())
)]
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

/// Sign out
///
/// Ends the caller's session and clears its cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Signed out",
            headers(("Set-Cookie" = String, description = "The session cookie, cleared"))),
    ),
    security(("session" = []))
)]
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

/// Show who is calling
///
/// The signed-in user (or the API key's owner), their workspaces and, for a
/// session, the CSRF token to send with every change.
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = []))
)]
pub async fn me(call: Call) -> Reply<Me> {
    Ok(Json(accounts::me(&call.services, &call.actor).await?))
}

/// List my sessions
///
/// The signed-in user's live sessions, most recently active first. For
/// sessions only, never API keys.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "auth",
    responses((status = 200, description = "The live sessions", body = Vec<SessionInfo>)),
    security(("session" = []))
)]
pub async fn list_sessions(call: Call) -> Reply<Vec<SessionInfo>> {
    Ok(Json(sessions::list(&call.services, &call.actor).await?))
}

/// Sign out other sessions
///
/// Ends every session of the signed-in user but the current one, and answers
/// how many ended (`{"ended": n}`). For sessions only, never API keys.
#[utoipa::path(
    post,
    path = "/sessions/revoke-others",
    tag = "auth",
    responses(
        (status = 200, description = "How many sessions ended: `{\"ended\": n}`", body = Object),
    ),
    security(("session" = []))
)]
pub async fn revoke_other_sessions(call: Call) -> Reply<serde_json::Value> {
    let ended = sessions::revoke_others(&call.services, &call.actor, &call.meta).await?;
    Ok(Json(json!({ "ended": ended })))
}

/// List my API keys
///
/// The signed-in user's API keys, newest first, revoked ones included; for
/// a key holding `keys:write`, its owner's keys in its workspace.
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "auth",
    operation_id = "list_api_keys",
    responses((status = 200, description = "The API keys", body = Vec<ApiKeyInfo>)),
    security(("bearer" = ["keys:write"]))
)]
pub async fn list_keys(call: Call) -> Reply<Vec<ApiKeyInfo>> {
    Ok(Json(api_keys::list(&call.services, &call.actor).await?))
}

/// Create an API key
///
/// Makes an API key for a workspace of the signed-in user (their personal
/// one unless `workspace` is given), holding the scopes asked for; its token
/// is in this answer only. Needs a verified email address. A key holding
/// `keys:write` makes keys in its own workspace only, with no scope it
/// lacks, expiring no later than itself, and not at all when it has a
/// spend cap; keys it makes are revoked with it.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "auth",
    operation_id = "create_api_key",
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "The key, with its token (shown this once)",
            body = CreatedApiKey),
        (status = 404, description = "No such workspace, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The user has as many live keys as allowed",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["keys:write"]))
)]
pub async fn create_key(call: Call, Body(request): Body<CreateApiKey>) -> Answer<CreatedApiKey> {
    created(api_keys::create(&call.services, &call.actor, request, &call.meta).await?)
}

/// Revoke an API key
///
/// Revokes one of the signed-in user's API keys, and the keys it made (and
/// theirs); they stop working at once. A key may revoke itself, and one
/// holding `keys:write` the keys it made.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "auth",
    operation_id = "revoke_api_key",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    responses((status = 204, description = "The key is revoked")),
    security(("bearer" = ["keys:write"]))
)]
pub async fn revoke_key(call: Call, PathId(id): PathId<ApiKeyId>) -> Result<StatusCode, AppError> {
    api_keys::revoke(&call.services, &call.actor, id, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change an API key's spend cap
///
/// Sets the most credits a key may spend in a month (`monthly_credits`), or
/// lifts the cap with `null`. For the key's owner, in a session. A key
/// that made live keys (`keys:write`) is not capped until they are revoked.
#[utoipa::path(
    put,
    path = "/api-keys/{id}/spend-cap",
    tag = "auth",
    operation_id = "change_api_key_spend_cap",
    params(("id" = uuid::Uuid, Path, description = "The key's id")),
    request_body = types::deploy::SpendCap,
    responses(
        (status = 200, description = "The key, with its new cap", body = ApiKeyInfo),
        (status = 409, description = "The key made live keys its cap would not cover",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
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
