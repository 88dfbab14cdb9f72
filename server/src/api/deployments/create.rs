//! `POST /api/v1/deployments {agent, version?, workspace?, name?, config?}`:
//! 202 with the deployment, `queued`; follow `deployment:<id>` for the rest.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use service::{Services, deployments};
use types::deploy::{CreateDeployment, Deployment};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn create_deployment(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Body(request): Body<CreateDeployment>,
) -> Result<(StatusCode, Json<Deployment>), AppError> {
    let created = deployments::create(&services, &caller.actor, &caller.meta, request).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}
