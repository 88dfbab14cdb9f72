//! The caller's own account: signing up, in and out, and getting back in
//! (through the browser's door, which passes the sign-in limits and leaves
//! the session and device cookies for the server to set or clear), proving
//! the address, who is signed in, their sessions and API keys.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::ApiKeyId;
use types::account::{self, ApiKeyInfo, CreatedApiKey, Providers, SessionInfo};
use types::error::ApiError;
use types::oauth;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, failed, meta, services};
#[cfg(feature = "ssr")]
use service::auth::{accounts, api_keys, device_sign_in, recovery, sessions};

/// The browser's door of this request (the server provides it).
#[cfg(feature = "ssr")]
fn door() -> Result<service::auth::door::BrowserDoor, ApiError> {
    leptos::prelude::use_context().ok_or_else(|| {
        failed(service::ServiceError::Internal(anyhow::anyhow!(
            "the browser's door is missing from the server function context"
        )))
    })
}

/// Signs in with email and password: a new session, the browser's previous
/// one ended; the answer is who is signed in now.
#[server(prefix = "/api/fn", endpoint = "sign_in", input = Json, client = CsrfClient)]
pub async fn sign_in(request: account::LoginRequest) -> Result<account::Me, ApiError> {
    answer(door()?.sign_in(&services()?, &actor(), &meta(), request)).await
}

/// Makes an account and signs it in (201).
#[server(prefix = "/api/fn", endpoint = "sign_up", input = Json, client = CsrfClient)]
pub async fn sign_up(request: account::SignupRequest) -> Result<account::Me, ApiError> {
    answer_with(
        201,
        door()?.sign_up(&services()?, &actor(), &meta(), request),
    )
    .await
}

/// Ends this session; the cookie is cleared.
#[server(prefix = "/api/fn", endpoint = "sign_out", input = Json, client = CsrfClient)]
pub async fn sign_out() -> Result<(), ApiError> {
    answer(door()?.sign_out(&services()?, &actor(), &meta())).await
}

/// Mails a password-reset link when an account has the address; answers
/// the same (202) either way.
#[server(prefix = "/api/fn", endpoint = "request_password_reset", input = Json, client = CsrfClient)]
pub async fn request_password_reset(
    request: account::PasswordResetRequest,
) -> Result<(), ApiError> {
    let door = door()?;
    answer_with(
        202,
        door.request_password_reset(&services()?, &actor(), &meta(), &request.email),
    )
    .await
}

/// Sets a new password with a reset link's token: every session of the
/// account ends and this browser is signed in.
#[server(prefix = "/api/fn", endpoint = "reset_password", input = Json, client = CsrfClient)]
pub async fn reset_password(request: account::PasswordReset) -> Result<account::Me, ApiError> {
    answer(door()?.reset_password(&services()?, &actor(), &meta(), request)).await
}

/// Follows a verification link (no session needed: the link is the proof).
#[server(prefix = "/api/fn", endpoint = "verify_email", input = Json, client = CsrfClient)]
pub async fn verify_email(
    request: account::EmailVerification,
) -> Result<account::EmailVerified, ApiError> {
    answer(recovery::verify_email(
        &services()?,
        &actor(),
        &meta(),
        &request.token,
    ))
    .await
}

/// Sends the signed-in user a new verification link (202).
#[server(prefix = "/api/fn", endpoint = "resend_verification", input = Json, client = CsrfClient)]
pub async fn resend_verification() -> Result<account::MailQueued, ApiError> {
    answer_with(
        202,
        door()?.resend_verification(&services()?, &actor(), &meta()),
    )
    .await
}

/// Changes the signed-in user's password; their other sessions end.
#[server(prefix = "/api/fn", endpoint = "change_password", input = Json, client = CsrfClient)]
pub async fn change_password(request: account::PasswordChange) -> Result<(), ApiError> {
    answer(door()?.change_password(&services()?, &actor(), &meta(), request)).await
}

/// Sends a link to the address the signed-in user moves to (202); the
/// account keeps its address until it is followed.
#[server(prefix = "/api/fn", endpoint = "change_email", input = Json, client = CsrfClient)]
pub async fn change_email(request: account::EmailChange) -> Result<account::MailQueued, ApiError> {
    answer_with(
        202,
        door()?.change_email(&services()?, &actor(), &meta(), request),
    )
    .await
}

/// Which ways of signing in are on.
#[server(prefix = "/api/fn", endpoint = "sign_in_providers", input = GetUrl, client = CsrfClient)]
pub async fn sign_in_providers() -> Result<Providers, ApiError> {
    Ok(accounts::providers(&services()?))
}

/// Who is signed in, with their workspaces (401 when nobody is).
#[server(prefix = "/api/fn", endpoint = "current_user", input = GetUrl, client = CsrfClient)]
pub async fn current_user() -> Result<account::Me, ApiError> {
    answer(accounts::me(&services()?, &actor())).await
}

#[server(prefix = "/api/fn", endpoint = "list_sessions", input = GetUrl, client = CsrfClient)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, ApiError> {
    answer(sessions::list(&services()?, &actor())).await
}

/// Signs out every other device; answers how many sessions ended.
#[server(prefix = "/api/fn", endpoint = "revoke_other_sessions", input = Json, client = CsrfClient)]
pub async fn revoke_other_sessions() -> Result<u64, ApiError> {
    let ended = sessions::revoke_others(&services()?, &actor(), &meta())
        .await
        .map_err(failed)?;
    Ok(u64::try_from(ended).unwrap_or(u64::MAX))
}

#[server(prefix = "/api/fn", endpoint = "list_api_keys", input = GetUrl, client = CsrfClient)]
pub async fn list_api_keys() -> Result<Vec<ApiKeyInfo>, ApiError> {
    answer(api_keys::list(&services()?, &actor())).await
}

/// A new API key (201), its token shown this once.
#[server(prefix = "/api/fn", endpoint = "create_api_key", input = Json, client = CsrfClient)]
pub async fn create_api_key(request: account::CreateApiKey) -> Result<CreatedApiKey, ApiError> {
    answer_with(
        201,
        api_keys::create(&services()?, &actor(), request, &meta()),
    )
    .await
}

/// A device sign-in (`agentdeck login`) by the code its person typed, for
/// the approval page.
#[server(prefix = "/api/fn", endpoint = "device_request", input = Json, client = CsrfClient)]
pub async fn device_request(code: String) -> Result<account::DeviceRequest, ApiError> {
    let door = door()?;
    answer(device_sign_in::show(
        &services()?,
        &door,
        &actor(),
        &code,
        &meta(),
    ))
    .await
}

/// Approves (a key in the chosen workspace, with the chosen scopes) or
/// denies a device sign-in.
#[server(prefix = "/api/fn", endpoint = "decide_device", input = Json, client = CsrfClient)]
pub async fn decide_device(
    decision: account::DecideDevice,
) -> Result<account::DeviceRequest, ApiError> {
    let door = door()?;
    answer(device_sign_in::decide(
        &services()?,
        &door,
        &actor(),
        decision,
        &meta(),
    ))
    .await
}

/// An MCP client's authorization waiting for this person (the consent
/// page).
#[server(prefix = "/api/fn", endpoint = "consent_request", input = Json, client = CsrfClient)]
pub async fn consent_request(id: uuid::Uuid) -> Result<oauth::ConsentRequest, ApiError> {
    answer(service::auth::oauth::show(&services()?, &actor(), id)).await
}

/// Approves (for a workspace) or denies an MCP client; where the browser
/// goes next (back to the client).
#[server(prefix = "/api/fn", endpoint = "decide_consent", input = Json, client = CsrfClient)]
pub async fn decide_consent(
    decision: oauth::DecideConsent,
) -> Result<oauth::ConsentDecided, ApiError> {
    answer(service::auth::oauth::decide(
        &services()?,
        &actor(),
        decision,
        &meta(),
    ))
    .await
}

#[server(prefix = "/api/fn", endpoint = "revoke_api_key", input = Json, client = CsrfClient)]
pub async fn revoke_api_key(id: ApiKeyId) -> Result<(), ApiError> {
    answer(api_keys::revoke(&services()?, &actor(), id, &meta())).await
}
