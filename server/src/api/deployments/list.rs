//! `GET /api/v1/deployments`: the caller's workspaces' deployments.

use axum::Json;
use serde::Serialize;
use service::deployments;
use types::deploy::Deployment;

use crate::api::extract::{Call, Reply};

#[derive(Serialize)]
pub struct DeploymentList {
    items: Vec<Deployment>,
}

pub async fn list_deployments(call: Call) -> Reply<DeploymentList> {
    let items = deployments::list(&call.services, &call.actor).await?;
    Ok(Json(DeploymentList { items }))
}
