//! Platform administration: the job queue, credit grants and the local
//! mail outbox (platform administrators in a browser session only; the
//! service checks).

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use types::JobId;
use types::billing::{self, Granted};
use types::error::ApiError;
use types::jobs::QueueOverview;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, meta, services};
#[cfg(feature = "ssr")]
use service::{jobs, ledger, mail};

/// Depth and age per job kind, and the dead jobs.
#[server(prefix = "/api/fn", endpoint = "job_queue", input = GetUrl, client = CsrfClient)]
pub async fn job_queue() -> Result<QueueOverview, ApiError> {
    answer(jobs::overview(&services()?, &actor())).await
}

/// The newest mail in the local outbox (mail when no SMTP server is set).
#[server(prefix = "/api/fn", endpoint = "mail_outbox", input = GetUrl, client = CsrfClient)]
pub async fn mail_outbox() -> Result<Vec<types::account::OutboxMail>, ApiError> {
    answer(mail::outbox::list(&services()?, &actor())).await
}

/// Puts a dead job back in the queue.
#[server(prefix = "/api/fn", endpoint = "retry_job", input = Json, client = CsrfClient)]
pub async fn retry_job(id: JobId) -> Result<(), ApiError> {
    answer(jobs::retry_dead(&services()?, &actor(), id.0)).await
}

/// Deletes a dead job.
#[server(prefix = "/api/fn", endpoint = "discard_job", input = Json, client = CsrfClient)]
pub async fn discard_job(id: JobId) -> Result<(), ApiError> {
    answer(jobs::discard_dead(&services()?, &actor(), id.0)).await
}

/// A grant with the key that makes a repeat grant once. Unknown fields are
/// refused: a misspelt key must not pass unnoticed and grant twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantOrder {
    pub grant: billing::GrantCredits,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Grants credits to a workspace (201), audited with the reason; the same
/// `idempotency_key` again grants once.
#[server(prefix = "/api/fn", endpoint = "grant_credits", input = Json, client = CsrfClient)]
pub async fn grant_credits(order: GrantOrder) -> Result<Granted, ApiError> {
    let GrantOrder {
        grant,
        idempotency_key,
    } = order;
    answer_with(
        201,
        ledger::admin_grant(&services()?, &actor(), &meta(), grant, idempotency_key),
    )
    .await
}
