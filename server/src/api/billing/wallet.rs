//! `GET /api/v1/wallet?workspace=`: a workspace's balances (the caller's
//! own when no workspace is named).

use axum::Json;
use serde::Deserialize;
use service::ledger;
use types::billing::Wallet;

use crate::api::extract::{Call, QueryOf, Reply};

#[derive(Deserialize)]
pub struct Which {
    workspace: Option<String>,
}

pub async fn show_wallet(call: Call, QueryOf(which): QueryOf<Which>) -> Reply<Wallet> {
    let wallet = ledger::wallet(&call.services, &call.actor, which.workspace.as_deref()).await?;
    Ok(Json(wallet))
}

/// `GET /api/v1/pricing`: what credits, runs and models cost here (public).
pub async fn show_pricing(call: Call) -> Reply<types::billing::Pricing> {
    Ok(Json(ledger::pricing(&call.services)))
}
