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
    EmailChange, EmailVerification, EmailVerified, MailQueued, Me, PasswordChange, PasswordReset,
    PasswordResetRequest,
};
use types::error::ErrorEnvelope;

use super::{door, with_cookie};
use crate::api::body::Body;
use crate::api::extract::{Answer, Call, Reply, accepted};
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

/// Ask for a password reset link
///
/// Mails a reset link to the address when an account has it; the answer is
/// the same (202 `{}`) whether or not one does. For browsers, never API keys.
#[utoipa::path(
    post,
    path = "/auth/password-reset",
    tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "Accepted: `{}`, whatever the address", body = Object)),
    security(())
)]
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

/// Reset a password
///
/// Sets a new password with a reset link's token: every session and API key
/// of the account ends, and this browser is signed in.
#[utoipa::path(
    post,
    path = "/auth/password-reset/complete",
    tag = "auth",
    request_body = PasswordReset,
    responses(
        (status = 200, description = "The password is set and this browser signed in", body = Me,
            headers(("Set-Cookie" = String, description = "The new session's cookie, and the \
                device cookie of a browser that signed in"))),
    ),
    security(())
)]
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

/// Verify an email address
///
/// Follows a verification link's token: the address is proven, and when it
/// was a new one, the account moves to it. Needs no session: the link is the
/// proof.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    request_body = EmailVerification,
    responses(
        (status = 200, description = "The address, verified", body = EmailVerified),
        (status = 409, description = "Another account took the address meanwhile",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn verify_email(
    call: Call,
    Body(request): Body<EmailVerification>,
) -> Reply<EmailVerified> {
    let verified =
        recovery::verify_email(&call.services, &call.actor, &call.meta, &request.token).await?;
    Ok(Json(verified))
}

/// Resend the verification link
///
/// Sends the signed-in user another link to verify their address (the
/// earlier one stops working). For sessions only.
#[utoipa::path(
    post,
    path = "/me/email/verification",
    tag = "auth",
    responses(
        (status = 202, description = "The link is on its way", body = MailQueued),
        (status = 409, description = "The address is verified already", body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn resend_verification(State(state): State<AppState>, call: Call) -> Answer<MailQueued> {
    let door = door(&state, &HeaderMap::new());
    accepted(
        door.resend_verification(&call.services, &call.actor, &call.meta)
            .await?,
    )
}

/// Change my password
///
/// Changes the signed-in user's password, checking the current one; their
/// other sessions end. For sessions only.
#[utoipa::path(
    post,
    path = "/me/password",
    tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "The password is changed",
            headers(("Set-Cookie" = String, description = "This browser's new device cookie, \
                where the server keeps known devices"))),
    ),
    security(("session" = []))
)]
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

/// Change my email address
///
/// Sends a link to the new address; the account moves there once it is
/// followed. The password is asked for when the account has one. For
/// sessions only.
#[utoipa::path(
    post,
    path = "/me/email",
    tag = "auth",
    request_body = EmailChange,
    responses((status = 202, description = "The link is on its way", body = MailQueued)),
    security(("session" = []))
)]
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
