//! `POST /api/v1/admin/credits {workspace, credits, reason}`: a platform
//! administrator grants credits (201); an `Idempotency-Key` header makes a
//! repeated request grant once. Audited with the reason.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use service::ledger;
use types::billing::{GrantCredits, Granted};

use crate::api::body::Body;
use crate::api::extract::Call;
use crate::error::AppError;

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
