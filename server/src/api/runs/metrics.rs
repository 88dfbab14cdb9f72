//! `GET /api/v1/deployments/{id}/metrics?minutes=60`: runs per minute,
//! failures, and p50/p95 durations (the deployment page's charts start
//! from this and go on with the live run events).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use service::{Services, runs};
use types::deploy::DeploymentMetrics;

use crate::api::extract::{PathId, QueryOf};
use crate::auth::CallerOf;
use crate::error::AppError;
use types::DeploymentId;

#[derive(Deserialize)]
pub struct Window {
    minutes: Option<String>,
}

pub async fn show_metrics(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<DeploymentId>,
    QueryOf(window): QueryOf<Window>,
) -> Result<Json<DeploymentMetrics>, AppError> {
    let minutes = match window.minutes.as_deref().map(str::trim) {
        None | Some("") => 60,
        Some(text) => text
            .parse()
            .map_err(|_| AppError::invalid("minutes", "must be a whole number"))?,
    };
    Ok(Json(
        runs::metrics(&services, &caller.actor, id.0, minutes).await?,
    ))
}
