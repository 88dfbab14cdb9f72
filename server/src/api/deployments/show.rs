//! `GET /api/v1/deployments/{id}`.

use axum::Json;
use service::deployments;
use types::deploy::Deployment;

use crate::api::extract::{Call, PathId, Reply};
use types::DeploymentId;

/// Show a deployment
///
/// One deployment of a workspace the caller belongs to (any role): its
/// status, version, config, secret names and spend.
#[utoipa::path(
    get,
    path = "/deployments/{id}",
    tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses((status = 200, description = "The deployment", body = Deployment)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn show_deployment(call: Call, PathId(id): PathId<DeploymentId>) -> Reply<Deployment> {
    Ok(Json(
        deployments::show(&call.services, &call.actor, id.0).await?,
    ))
}
