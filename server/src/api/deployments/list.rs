//! `GET /api/v1/deployments`: the caller's workspaces' deployments.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use service::{Services, deployments};
use types::deploy::Deployment;

use crate::auth::CallerOf;
use crate::error::AppError;

#[derive(Serialize)]
pub struct DeploymentList {
    items: Vec<Deployment>,
}

pub async fn list_deployments(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
) -> Result<Json<DeploymentList>, AppError> {
    let items = deployments::list(&services, &caller.actor).await?;
    Ok(Json(DeploymentList { items }))
}
