//! `GET /api/v1/deployments/{id}/metrics?minutes=60`: runs per minute,
//! failures, and p50/p95 durations (the deployment page's charts start
//! from this and go on with the live run events).

use axum::Json;
use serde::Deserialize;
use service::runs;
use types::deploy::DeploymentMetrics;

use crate::api::extract::{Call, PathId, QueryOf, Reply};
use crate::error::AppError;
use types::DeploymentId;

#[derive(Deserialize)]
pub struct Window {
    minutes: Option<String>,
}

pub async fn show_metrics(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    QueryOf(window): QueryOf<Window>,
) -> Reply<DeploymentMetrics> {
    let minutes = match window.minutes.as_deref().map(str::trim) {
        None | Some("") => 60,
        Some(text) => text
            .parse()
            .map_err(|_| AppError::invalid("minutes", "must be a whole number"))?,
    };
    Ok(Json(
        runs::metrics(&call.services, &call.actor, id.0, minutes).await?,
    ))
}
