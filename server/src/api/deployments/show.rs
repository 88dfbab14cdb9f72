//! `GET /api/v1/deployments/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, deployments};
use types::deploy::Deployment;

use super::deployment_id;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn show_deployment(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Json<Deployment>, AppError> {
    let id = deployment_id(&id)?;
    Ok(Json(deployments::show(&services, &caller.actor, id).await?))
}
