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

/// The window, raw: a bad number is named (422).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// How many minutes back, up to now (60 when absent).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1440)]
    minutes: Option<String>,
}

/// Show a deployment's metrics
///
/// Runs per minute over the last `minutes`: how many finished, how many
/// failed, and the median and 95th percentile of their durations (minutes
/// without runs left out). For members of its workspace.
#[utoipa::path(
    get,
    path = "/deployments/{id}/metrics",
    tag = "runs",
    operation_id = "show_deployment_metrics",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id"), Window),
    responses((status = 200, description = "Runs per minute", body = DeploymentMetrics)),
    security(("bearer" = ["runs:read"]))
)]
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
