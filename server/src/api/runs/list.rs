//! `GET /api/v1/deployments/{id}/runs?status=`: the newest 100.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use service::{Services, runs};
use types::deploy::RunSummary;

use crate::auth::CallerOf;
use crate::error::AppError;

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
    Path(id): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Json<RunList>, AppError> {
    let id = id
        .parse()
        .map_err(|_| AppError::from(service::ServiceError::NotFound { what: "deployment" }))?;
    let items = runs::list(&services, &caller.actor, id, filters.status.as_deref()).await?;
    Ok(Json(RunList { items }))
}
