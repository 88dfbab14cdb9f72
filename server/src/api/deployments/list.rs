//! `GET /api/v1/deployments`: the caller's workspaces' deployments.

use axum::Json;
use serde::Serialize;
use service::deployments;
use types::deploy::Deployment;

use crate::api::extract::{Call, Reply};

/// The caller's deployments.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeploymentList {
    /// Newest first, at most 200.
    items: Vec<Deployment>,
}

/// List deployments
///
/// The deployments of every workspace the caller belongs to (an API key's
/// own workspace only), newest first.
#[utoipa::path(
    get,
    path = "/deployments",
    tag = "deployments",
    responses((status = 200, description = "The caller's deployments", body = DeploymentList)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn list_deployments(call: Call) -> Reply<DeploymentList> {
    let items = deployments::list(&call.services, &call.actor).await?;
    Ok(Json(DeploymentList { items }))
}
