//! Runs: starting one (synchronous by default, waiting as long as
//! `POST /api/v1/deployments/{id}/runs` does), cancelling it, reading it,
//! a deployment's runs and metrics, and the dashboard's feed. (Types are
//! named through `deploy::` where the macro makes an argument struct of
//! the same name.)

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use types::deploy::{self, Run, RunSummary};
use types::error::ApiError;
use uuid::Uuid;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, answered, failed, services};
#[cfg(feature = "ssr")]
use service::runs;

/// A run to start, with the key that makes a repeat answer the first run.
/// Unknown fields are refused: a misspelt key must not pass unnoticed and
/// start (and charge) a second run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOrder {
    pub request: deploy::StartRun,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Starts a run of deployment `id`, as the REST API does: the same
/// `idempotency_key` again answers the first run; a synchronous run answers
/// 200 once finished, or 202 with the run (which goes on) when it takes
/// longer than the server waits.
#[server(prefix = "/api/fn", endpoint = "start_run", input = Json, client = CsrfClient)]
pub async fn start_run(id: Uuid, run: RunOrder) -> Result<Run, ApiError> {
    let RunOrder {
        request,
        idempotency_key,
    } = run;
    let outcome = runs::start_and_wait(&services()?, &actor(), id, request, idempotency_key)
        .await
        .map_err(failed)?;
    Ok(if outcome.finished {
        outcome.run
    } else {
        answered(202, outcome.run)
    })
}

/// Cancels run `id`: 202, as the REST API answers.
#[server(prefix = "/api/fn", endpoint = "cancel_run", input = Json, client = CsrfClient)]
pub async fn cancel_run(id: Uuid) -> Result<Run, ApiError> {
    answer_with(202, runs::cancel(&services()?, &actor(), id)).await
}

#[server(prefix = "/api/fn", endpoint = "get_run", input = GetUrl, client = CsrfClient)]
pub async fn get_run(id: Uuid) -> Result<Run, ApiError> {
    answer(runs::get(&services()?, &actor(), id)).await
}

/// The newest 100 runs of deployment `id`, of one status when given.
#[server(prefix = "/api/fn", endpoint = "list_runs", input = GetUrl, client = CsrfClient)]
pub async fn list_runs(id: Uuid, status: Option<String>) -> Result<Vec<RunSummary>, ApiError> {
    answer(runs::list(&services()?, &actor(), id, status.as_deref())).await
}

/// The newest runs of all the caller's deployments (the dashboard's feed).
#[server(prefix = "/api/fn", endpoint = "recent_runs", input = GetUrl, client = CsrfClient)]
pub async fn recent_runs() -> Result<Vec<RunSummary>, ApiError> {
    answer(runs::recent(&services()?, &actor())).await
}

/// Runs per minute of deployment `id` over the last `minutes` (1 to 1440).
#[server(prefix = "/api/fn", endpoint = "deployment_metrics", input = GetUrl, client = CsrfClient)]
pub async fn deployment_metrics(
    id: Uuid,
    minutes: i32,
) -> Result<deploy::DeploymentMetrics, ApiError> {
    answer(runs::metrics(&services()?, &actor(), id, minutes)).await
}
