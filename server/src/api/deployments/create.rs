//! `POST /api/v1/deployments {agent, version?, workspace?, name?, config?}`:
//! 202 with the deployment, `queued`; follow `deployment:<id>` for the rest.

use axum::Json;
use axum::http::StatusCode;
use service::deployments;
use types::deploy::{CreateDeployment, Deployment};

use crate::api::body::Body;
use crate::api::extract::Call;
use crate::error::AppError;

pub async fn create_deployment(
    call: Call,
    Body(request): Body<CreateDeployment>,
) -> Result<(StatusCode, Json<Deployment>), AppError> {
    let created = deployments::create(&call.services, &call.actor, &call.meta, request).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}
