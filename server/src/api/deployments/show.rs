//! `GET /api/v1/deployments/{id}`.

use axum::Json;
use axum::extract::State;
use service::{Services, deployments};
use types::deploy::Deployment;

use crate::api::extract::PathId;
use crate::auth::CallerOf;
use crate::error::AppError;
use types::DeploymentId;

pub async fn show_deployment(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<DeploymentId>,
) -> Result<Json<Deployment>, AppError> {
    Ok(Json(
        deployments::show(&services, &caller.actor, id.0).await?,
    ))
}
