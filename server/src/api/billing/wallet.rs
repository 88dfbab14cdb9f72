//! `GET /api/v1/wallet?workspace=`: a workspace's balances (the caller's
//! own when no workspace is named).

use axum::Json;
use serde::Deserialize;
use service::ledger;
use types::billing::Wallet;
use types::error::ErrorEnvelope;

use crate::api::extract::{Call, QueryOf, Reply};

/// Which workspace.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Which {
    /// A workspace's slug; the caller's own when absent (an API key's
    /// workspace, else the personal one).
    workspace: Option<String>,
}

/// Show a wallet
///
/// A workspace's balances: credits to spend, credits held for runs under
/// way, and what its agents earned. For members and up of the workspace (not
/// viewers).
#[utoipa::path(
    get,
    path = "/wallet",
    tag = "billing",
    params(Which),
    responses(
        (status = 200, description = "The workspace's balances", body = Wallet),
        (status = 404, description = "No such workspace, or not one of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["billing:read"]))
)]
pub async fn show_wallet(call: Call, QueryOf(which): QueryOf<Which>) -> Reply<Wallet> {
    let wallet = ledger::wallet(&call.services, &call.actor, which.workspace.as_deref()).await?;
    Ok(Json(wallet))
}

/// Show prices
///
/// `GET /api/v1/pricing`: what credits, runs and models cost here (public).
#[utoipa::path(
    get,
    path = "/pricing",
    tag = "billing",
    responses((status = 200, description = "The prices", body = types::billing::Pricing)),
    security((), ("bearer" = []))
)]
pub async fn show_pricing(call: Call) -> Reply<types::billing::Pricing> {
    Ok(Json(ledger::pricing(&call.services)))
}
