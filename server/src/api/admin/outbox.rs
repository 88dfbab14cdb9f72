//! `GET /api/v1/admin/outbox`: the newest mail in the local outbox (where
//! mail goes without an SMTP server). Platform administrators only.

use axum::Json;
use service::mail::outbox;
use types::account::OutboxMail;

use crate::api::extract::{Call, Reply};

/// Show the mail outbox
///
/// The newest mail in the local outbox, where mail goes when this server has
/// no SMTP server (empty otherwise). Platform administrators in a browser
/// session only.
#[utoipa::path(
    get,
    path = "/admin/outbox",
    tag = "admin",
    operation_id = "list_outbox_mail",
    responses((
        status = 200,
        description = "The newest mail, newest first",
        body = Vec<OutboxMail>
    )),
    security(("session" = []))
)]
pub async fn show_outbox(call: Call) -> Reply<Vec<OutboxMail>> {
    Ok(Json(outbox::list(&call.services, &call.actor).await?))
}
