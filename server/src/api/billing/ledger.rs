//! `GET /api/v1/ledger?workspace=&limit=&cursor=`: a workspace's ledger
//! lines, newest first.

use axum::Json;
use serde::Deserialize;
use service::ledger;
use types::billing::LedgerPage;

use crate::api::extract::{Call, QueryOf, Reply};

#[derive(Deserialize)]
pub struct PageQuery {
    workspace: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

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
