//! `GET /api/v1/ledger?workspace=&limit=&cursor=`: a workspace's ledger
//! lines, newest first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use service::{Services, ledger};
use types::billing::LedgerPage;

use crate::api::extract::QueryOf;
use crate::auth::CallerOf;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct PageQuery {
    workspace: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list_ledger(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    QueryOf(page): QueryOf<PageQuery>,
) -> Result<Json<LedgerPage>, AppError> {
    let page = ledger::lines(
        &services,
        &caller.actor,
        page.workspace.as_deref(),
        page.cursor.as_deref(),
        page.limit,
    )
    .await?;
    Ok(Json(page))
}
