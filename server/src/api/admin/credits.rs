//! `POST /api/v1/admin/credits {workspace, credits, reason}`: a platform
//! administrator grants credits (201); an `Idempotency-Key` header makes a
//! repeated request grant once. Audited with the reason.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use service::ledger;
use types::billing::{GrantCredits, Granted};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::Call;
use crate::error::AppError;

/// Grant credits
///
/// A platform administrator gives a workspace credits, with a reason that goes
/// into the ledger and the audit log. Platform administrators in a browser
/// session only.
#[utoipa::path(
    post,
    path = "/admin/credits",
    tag = "admin",
    params((
        "Idempotency-Key" = Option<String>, Header,
        description = "Up to 100 printable characters: the same grant sent again with the same \
            key grants once",
        min_length = 1, max_length = 100
    )),
    request_body = GrantCredits,
    responses(
        (status = 201, description = "The grant, with the workspace's new balance",
            body = Granted),
        (status = 404, description = "No workspace by that slug", body = ErrorEnvelope),
        (status = 409, description = "The `Idempotency-Key` was used for another grant",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn grant_credits(
    call: Call,
    headers: HeaderMap,
    Body(grant): Body<GrantCredits>,
) -> Result<(StatusCode, Json<Granted>), AppError> {
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .map(str::to_owned)
                .map_err(|_| AppError::invalid("idempotency_key", "must be printable text"))
        })
        .transpose()?;
    let granted = ledger::admin_grant(&call.services, &call.actor, &call.meta, grant, key).await?;
    Ok((StatusCode::CREATED, Json(granted)))
}
