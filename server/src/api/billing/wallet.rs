//! `GET /api/v1/wallet?workspace=`: a workspace's balances (the caller's
//! own when no workspace is named).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use service::{Services, ledger};
use types::billing::Wallet;

use crate::api::extract::QueryOf;
use crate::auth::CallerOf;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct Which {
    workspace: Option<String>,
}

pub async fn show_wallet(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    QueryOf(which): QueryOf<Which>,
) -> Result<Json<Wallet>, AppError> {
    let wallet = ledger::wallet(&services, &caller.actor, which.workspace.as_deref()).await?;
    Ok(Json(wallet))
}
