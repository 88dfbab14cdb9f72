//! `GET /api/v1/ledger?workspace=&limit=&cursor=`: a workspace's ledger
//! lines, newest first.

use axum::Json;
use serde::Deserialize;
use service::ledger;
use types::billing::LedgerPage;
use types::error::ErrorEnvelope;

use crate::api::extract::{Call, QueryOf, Reply};

/// Which workspace's ledger, and which page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// A workspace's slug; the caller's own when absent (an API key's
    /// workspace, else the personal one).
    workspace: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Lines per page, 1 to 100 (100 when absent).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// List ledger lines
///
/// A workspace's ledger lines (every movement of credits in or out of its
/// accounts), newest first, one page at a time. For members and up of the
/// workspace (not viewers).
#[utoipa::path(
    get,
    path = "/ledger",
    tag = "billing",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of ledger lines", body = LedgerPage),
        (status = 404, description = "No such workspace, or not one of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["billing:read"]))
)]
pub async fn list_ledger(call: Call, QueryOf(page): QueryOf<PageQuery>) -> Reply<LedgerPage> {
    let page = ledger::lines(
        &call.services,
        &call.actor,
        page.workspace.as_deref(),
        page.cursor.as_deref(),
        page.limit,
    )
    .await?;
    Ok(Json(page))
}
