//! `GET /api/v1/deployments/{id}`.

use axum::Json;
use service::deployments;
use types::deploy::Deployment;

use crate::api::extract::{Call, PathId, Reply};
use types::DeploymentId;

pub async fn show_deployment(call: Call, PathId(id): PathId<DeploymentId>) -> Reply<Deployment> {
    Ok(Json(
        deployments::show(&call.services, &call.actor, id.0).await?,
    ))
}
