//! `GET /api/v1/deployments/{id}/runs?status=`: the newest 100.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use service::{Services, runs};
use types::deploy::RunSummary;

use crate::api::extract::{PathId, QueryOf};
use crate::auth::CallerOf;
use crate::error::AppError;
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
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<DeploymentId>,
    QueryOf(filters): QueryOf<Filters>,
) -> Result<Json<RunList>, AppError> {
    let items = runs::list(&services, &caller.actor, id.0, filters.status.as_deref()).await?;
    Ok(Json(RunList { items }))
}
