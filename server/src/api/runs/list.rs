//! `GET /api/v1/deployments/{id}/runs?status=`: the newest 100.

use axum::Json;
use serde::{Deserialize, Serialize};
use service::runs;
use types::deploy::RunSummary;

use crate::api::extract::{Call, PathId, QueryOf, Reply};
use types::DeploymentId;

#[derive(Deserialize)]
pub struct Filters {
    status: Option<String>,
}

/// A list of runs (also the dashboard's feed).
#[derive(Serialize)]
pub struct RunList {
    pub items: Vec<RunSummary>,
}

pub async fn list_runs(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    QueryOf(filters): QueryOf<Filters>,
) -> Reply<RunList> {
    let items = runs::list(&call.services, &call.actor, id.0, filters.status.as_deref()).await?;
    Ok(Json(RunList { items }))
}
