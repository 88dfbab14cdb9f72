//! Credits: a workspace's wallet, buying credits, usage and the ledger.
//! (The ledger's CSV is a download: `/api/v1/ledger.csv`.) `workspace` is a
//! workspace's slug; none means the caller's own.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::CheckoutId;
use types::billing::{self, Checkout, LedgerPage, Usage, Wallet};
use types::error::ApiError;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, services};
#[cfg(feature = "ssr")]
use service::{ledger, payments};

/// What credits, runs and models cost here (anyone may ask).
#[server(prefix = "/api/fn", endpoint = "get_pricing", input = GetUrl, client = CsrfClient)]
pub async fn get_pricing() -> Result<billing::Pricing, ApiError> {
    Ok(ledger::pricing(&services()?))
}

#[server(prefix = "/api/fn", endpoint = "get_wallet", input = GetUrl, client = CsrfClient)]
pub async fn get_wallet(workspace: Option<String>) -> Result<Wallet, ApiError> {
    answer(ledger::wallet(&services()?, &actor(), workspace.as_deref())).await
}

/// A checkout (201) whose `url` is where the browser pays.
#[server(prefix = "/api/fn", endpoint = "start_checkout", input = Json, client = CsrfClient)]
pub async fn start_checkout(request: billing::StartCheckout) -> Result<Checkout, ApiError> {
    answer_with(201, payments::checkout(&services()?, &actor(), request)).await
}

/// Whether a checkout was paid yet.
#[server(prefix = "/api/fn", endpoint = "get_checkout", input = GetUrl, client = CsrfClient)]
pub async fn get_checkout(id: CheckoutId) -> Result<Checkout, ApiError> {
    answer(payments::show_checkout(&services()?, &actor(), id.0)).await
}

/// Paid runs by day and agent over the last `days` (1 to 366).
#[server(prefix = "/api/fn", endpoint = "get_usage", input = GetUrl, client = CsrfClient)]
pub async fn get_usage(workspace: Option<String>, days: Option<i64>) -> Result<Usage, ApiError> {
    answer(ledger::usage(
        &services()?,
        &actor(),
        workspace.as_deref(),
        days,
    ))
    .await
}

/// A page of ledger lines, newest first.
#[server(prefix = "/api/fn", endpoint = "ledger_lines", input = GetUrl, client = CsrfClient)]
pub async fn ledger_lines(
    workspace: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
) -> Result<LedgerPage, ApiError> {
    let (workspace, cursor) = (workspace.as_deref(), cursor.as_deref());
    answer(ledger::lines(
        &services()?,
        &actor(),
        workspace,
        cursor,
        limit,
    ))
    .await
}
