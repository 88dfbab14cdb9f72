//! `GET /api/v1/runs`: the newest 20 runs of all the caller's deployments,
//! the dashboard's feed.

use axum::Json;
use service::runs;

use super::list::RunList;
use crate::api::extract::{Call, Reply};

/// List recent runs
///
/// The newest 20 runs of all the caller's deployments (an API key's own
/// workspace only), newest first: the dashboard's feed.
#[utoipa::path(
    get,
    path = "/runs",
    tag = "runs",
    operation_id = "list_recent_runs",
    responses((status = 200, description = "The newest runs", body = RunList)),
    security(("bearer" = ["runs:read"]))
)]
pub async fn recent_runs(call: Call) -> Reply<RunList> {
    let items = runs::recent(&call.services, &call.actor).await?;
    Ok(Json(RunList { items }))
}
