//! `GET /api/v1/admin/outbox`: the newest mail in the local outbox (where
//! mail goes without an SMTP server). Platform administrators only.

use axum::Json;
use service::mail::outbox;
use types::account::OutboxMail;

use crate::api::extract::{Call, Reply};

pub async fn show_outbox(call: Call) -> Reply<Vec<OutboxMail>> {
    Ok(Json(outbox::list(&call.services, &call.actor).await?))
}
