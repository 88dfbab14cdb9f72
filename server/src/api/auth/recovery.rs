//! Getting back in and proving an address, through the browser's door:
//!
//! - `POST /api/v1/auth/password-reset {email}`: 202 `{}`, the same for any
//!   address; a link goes out when an account has it.
//! - `POST /api/v1/auth/password-reset/complete {token, password}`: the new
//!   password set, every session of the account ended, this browser signed
//!   in (200 with `Me`).
//! - `POST /api/v1/auth/verify-email {token}`: the address proven (or the
//!   account moved to it).
//! - `POST /api/v1/me/email/verification`: another verification link (202).
//! - `POST /api/v1/me/password {current_password, new_password}`: 204, the
//!   other sessions ended.
//! - `POST /api/v1/me/email {new_email, password?}`: a link to the new
//!   address (202).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use service::auth::recovery;
use types::account::{
    EmailChange, EmailVerification, EmailVerified, MailQueued, PasswordChange, PasswordReset,
    PasswordResetRequest,
};

use super::{door, with_cookie};
use crate::api::body::Body;
use crate::api::extract::{Answer, Call, Reply, accepted};
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

pub async fn request_password_reset(
    State(state): State<AppState>,
    call: Call,
    Body(request): Body<PasswordResetRequest>,
) -> Answer<serde_json::Value> {
    door(&state, &HeaderMap::new())
        .request_password_reset(&call.services, &call.actor, &call.meta, &request.email)
        .await?;
    accepted(serde_json::json!({}))
}

pub async fn reset_password(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Body(request): Body<PasswordReset>,
) -> Result<Response, AppError> {
    let door = door(&state, &headers);
    let me = door
        .reset_password(&state.services, &caller.actor, &caller.meta, request)
        .await?;
    Ok(with_cookie(&state, &door, Json(me).into_response()))
}

pub async fn verify_email(
    call: Call,
    Body(request): Body<EmailVerification>,
) -> Reply<EmailVerified> {
    let verified =
        recovery::verify_email(&call.services, &call.actor, &call.meta, &request.token).await?;
    Ok(Json(verified))
}

pub async fn resend_verification(State(state): State<AppState>, call: Call) -> Answer<MailQueued> {
    let door = door(&state, &HeaderMap::new());
    accepted(
        door.resend_verification(&call.services, &call.actor, &call.meta)
            .await?,
    )
}

pub async fn change_password(
    State(state): State<AppState>,
    call: Call,
    Body(request): Body<PasswordChange>,
) -> Result<Response, AppError> {
    let door = door(&state, &HeaderMap::new());
    door.change_password(&call.services, &call.actor, &call.meta, request)
        .await?;
    Ok(with_cookie(
        &state,
        &door,
        StatusCode::NO_CONTENT.into_response(),
    ))
}

pub async fn change_email(
    State(state): State<AppState>,
    call: Call,
    Body(request): Body<EmailChange>,
) -> Answer<MailQueued> {
    let door = door(&state, &HeaderMap::new());
    accepted(
        door.change_email(&call.services, &call.actor, &call.meta, request)
            .await?,
    )
}
