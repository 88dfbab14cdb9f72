//! `POST /api/v1/deployments/{id}/{stop|start|restart}`,
//! `POST /api/v1/deployments/{id}/redeploy {version}` and
//! `DELETE /api/v1/deployments/{id}`.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::ServiceError;
use service::deployments::{self, Action};
use types::deploy::{Deployment, Redeploy};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, accepted};
use crate::error::AppError;
use types::DeploymentId;

pub async fn act_on_deployment(
    call: Call,
    Path((id, action)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Deployment>), AppError> {
    let id: DeploymentId = id
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "deployment" })?;
    let action = match action.as_str() {
        "stop" => Action::Stop,
        "start" => Action::Start,
        "restart" => Action::Restart,
        _ => return Err(ServiceError::NotFound { what: "action" }.into()),
    };
    let deployment = deployments::act(&call.services, &call.actor, &call.meta, id.0, action)
        .await?
        .ok_or(ServiceError::NotFound { what: "deployment" })?;
    Ok((StatusCode::ACCEPTED, Json(deployment)))
}

pub async fn redeploy_deployment(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(request): Body<Redeploy>,
) -> Answer<Deployment> {
    accepted(
        deployments::redeploy(
            &call.services,
            &call.actor,
            &call.meta,
            id.0,
            &request.version,
        )
        .await?,
    )
}

pub async fn delete_deployment(
    call: Call,
    PathId(id): PathId<DeploymentId>,
) -> Result<StatusCode, AppError> {
    deployments::act(
        &call.services,
        &call.actor,
        &call.meta,
        id.0,
        Action::Delete,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/deployments/{id}/secrets {NAME: "value" | null, ...}`: the
/// answer lists the names only.
pub async fn change_secrets(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(changes): Body<types::deploy::SecretChanges>,
) -> Reply<Deployment> {
    let deployment =
        deployments::change_secrets(&call.services, &call.actor, &call.meta, id.0, changes).await?;
    Ok(Json(deployment))
}

/// `PUT /api/v1/deployments/{id}/config`: the whole config, text values.
pub async fn change_config(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(config): Body<serde_json::Map<String, serde_json::Value>>,
) -> Reply<Deployment> {
    let deployment =
        deployments::change_config(&call.services, &call.actor, &call.meta, id.0, config).await?;
    Ok(Json(deployment))
}

/// `PUT /api/v1/deployments/{id}/spend-cap`: `{"monthly_credits": n}` or
/// `null` to lift it (admins and owners).
pub async fn change_spend_cap(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(cap): Body<types::deploy::SpendCap>,
) -> Reply<Deployment> {
    let deployment = deployments::change_spend_cap(
        &call.services,
        &call.actor,
        &call.meta,
        id.0,
        cap.monthly_credits,
    )
    .await?;
    Ok(Json(deployment))
}
