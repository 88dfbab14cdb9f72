//! `/api/v1/device/*`: a device (the `agentdeck` command line) signs in
//! through a browser (RFC 8628). The device starts a sign-in and polls;
//! the person approves it on the app's `/device` page, whose server
//! functions are in `app/src/api/account.rs`. Logic in
//! `service::auth::device_sign_in`.

use axum::Json;
use axum::extract::State;
use service::auth::device_sign_in;
use types::account::{DevicePoll, DeviceSignIn, PollDeviceSignIn, StartDeviceSignIn};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, Reply, created};
use crate::state::AppState;

/// Start a device sign-in
///
/// A device (a command line) asks to be signed in with the scopes it
/// names. It shows `user_code` and `verification_uri` to its person, who
/// approves it in a browser, and polls `POST /api/v1/device/token` with
/// `device_code` every `interval` seconds. The codes live ten minutes.
/// Limited per address (`AGENTDECK_DEVICE_LIMIT`).
#[utoipa::path(
    post,
    path = "/device/code",
    tag = "auth",
    operation_id = "start_device_sign_in",
    request_body = StartDeviceSignIn,
    responses((status = 201, description = "The codes", body = DeviceSignIn)),
    security(())
)]
pub async fn start_device_sign_in(
    State(state): State<AppState>,
    call: Call,
    Body(request): Body<StartDeviceSignIn>,
) -> Answer<DeviceSignIn> {
    state.limits.device_sign_in(call.meta.ip.parse().ok())?;
    created(device_sign_in::start(&call.services, request, &call.meta).await?)
}

/// Poll a device sign-in
///
/// `pending` until its person approves it (wait `interval` seconds between
/// polls; a poll too soon makes `interval` five seconds longer), then
/// `approved` with a new API key, once. A denied sign-in is 403 (and an
/// approval whose workspace its approver has left since); an unknown,
/// expired or used one is 404.
#[utoipa::path(
    post,
    path = "/device/token",
    tag = "auth",
    operation_id = "poll_device_sign_in",
    request_body = PollDeviceSignIn,
    responses(
        (status = 200, description = "Pending, or approved with the key (shown this once)",
            body = DevicePoll),
        (status = 403, description = "Denied in the browser", body = ErrorEnvelope),
        (status = 404, description = "Unknown, expired or used", body = ErrorEnvelope),
        (status = 409, description = "The approver has as many live keys as allowed",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn poll_device_sign_in(
    call: Call,
    Body(request): Body<PollDeviceSignIn>,
) -> Reply<DevicePoll> {
    Ok(Json(
        device_sign_in::poll(&call.services, &request.device_code, &call.meta).await?,
    ))
}
