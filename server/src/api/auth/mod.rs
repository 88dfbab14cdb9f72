//! `/api/v1/auth/*`, `/api/v1/me` and `/api/v1/sessions`: signing up, in and
//! out, and the caller's own sessions.

use app::model::account::{LoginRequest, Me, SessionInfo, SignupRequest};
use app::service::auth::{accounts, sessions};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::body::Body;
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
    state.limits.signup(caller.meta.ip.parse().ok())?;
    let (me, session) = accounts::signup(&state.services, request, &caller.meta).await?;
    Ok(signed_in(&state, StatusCode::CREATED, me, &session.token))
}

/// `POST /api/v1/auth/login {email, password}`: a new session (a new id, so
/// a planted cookie gains nothing).
pub async fn login(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Body(request): Body<LoginRequest>,
) -> Result<Response, AppError> {
    state
        .limits
        .login(caller.meta.ip.parse().ok(), &request.email)?;
    let (me, session) = accounts::login(&state.services, request, &caller.meta).await?;
    if let Some(previous) = caller.actor.session_id() {
        let mut conn = state.services.conn().await?;
        sessions::revoke(&mut conn, previous).await?;
    }
    Ok(signed_in(&state, StatusCode::OK, me, &session.token))
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
pub async fn me(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Json<Me>, AppError> {
    Ok(Json(accounts::me(&state.services, &caller.actor).await?))
}

/// `GET /api/v1/sessions`
pub async fn list_sessions(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Json<Vec<SessionInfo>>, AppError> {
    Ok(Json(sessions::list(&state.services, &caller.actor).await?))
}

/// `POST /api/v1/sessions/revoke-others`: signs out every other device.
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Json<serde_json::Value>, AppError> {
    let ended = sessions::revoke_others(&state.services, &caller.actor, &caller.meta).await?;
    Ok(Json(json!({ "ended": ended })))
}
