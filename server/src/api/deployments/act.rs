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

/// Stop, start or restart a deployment
///
/// `stop` stops it (nothing happens to one stopped or stopping already);
/// `start` deploys it again (nothing happens to one running); `restart`
/// deploys it again in any case. For members and up of its workspace; starting
/// needs the agent to be visible to the caller still.
#[utoipa::path(
    post,
    path = "/deployments/{id}/{action}",
    tag = "deployments",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("action" = String, Path, description = "What to do: `stop`, `start` or `restart`",
            pattern = "^(stop|start|restart)$"),
    ),
    responses((
        status = 202,
        description = "The deployment, `stopping` or `queued` (or as it was, when already there); \
            follow `deployment:<id>` for the rest",
        body = Deployment
    )),
    security(("bearer" = ["deployments:write"]))
)]
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

/// Redeploy another version
///
/// Deploys another published version of the deployment's agent in its place
/// (a rollback is a redeploy to an older one). For members and up of its
/// workspace.
#[utoipa::path(
    post,
    path = "/deployments/{id}/redeploy",
    tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body = Redeploy,
    responses((
        status = 202,
        description = "The deployment, queued with the version; follow `deployment:<id>` for \
            the rest",
        body = Deployment
    )),
    security(("bearer" = ["deployments:write"]))
)]
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

/// Delete a deployment
///
/// Deletes the deployment: it is listed no more and no new run of it starts
/// (its runs stay readable). For members and up of its workspace.
#[utoipa::path(
    delete,
    path = "/deployments/{id}",
    tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses((status = 204, description = "The deployment is deleted")),
    security(("bearer" = ["deployments:write"]))
)]
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

/// Set or remove a deployment's secrets
///
/// `PUT /api/v1/deployments/{id}/secrets {NAME: "value" | null, ...}`: the
/// answer lists the names only. A value sets a secret, `null` removes it, the
/// others stay; runs started from now on see the change. For members and up.
#[utoipa::path(
    put,
    path = "/deployments/{id}/secrets",
    tag = "deployments",
    operation_id = "change_deployment_secrets",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body(
        content = std::collections::BTreeMap<String, Option<String>>,
        description = "Secret names (letters, digits and `_`, not starting with a digit) to a \
            value to set, or `null` to remove"
    ),
    responses((
        status = 200,
        description = "The deployment, listing its secrets by name",
        body = Deployment
    )),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn change_secrets(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(changes): Body<types::deploy::SecretChanges>,
) -> Reply<Deployment> {
    let deployment =
        deployments::change_secrets(&call.services, &call.actor, &call.meta, id.0, changes).await?;
    Ok(Json(deployment))
}

/// Replace a deployment's config
///
/// `PUT /api/v1/deployments/{id}/config`: the whole config, text values.
/// Runs started from now on see it; the deployment is not restarted. For
/// members and up.
#[utoipa::path(
    put,
    path = "/deployments/{id}/config",
    tag = "deployments",
    operation_id = "change_deployment_config",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body(
        content = std::collections::BTreeMap<String, String>,
        description = "The whole config: each key's value as text (at most 64 KiB of JSON)"
    ),
    responses((status = 200, description = "The deployment, with its config", body = Deployment)),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn change_config(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(config): Body<serde_json::Map<String, serde_json::Value>>,
) -> Reply<Deployment> {
    let deployment =
        deployments::change_config(&call.services, &call.actor, &call.meta, id.0, config).await?;
    Ok(Json(deployment))
}

/// Set or lift a deployment's spend cap
///
/// `PUT /api/v1/deployments/{id}/spend-cap`: `{"monthly_credits": n}` or
/// `null` to lift it (admins and owners).
#[utoipa::path(
    put,
    path = "/deployments/{id}/spend-cap",
    tag = "deployments",
    operation_id = "change_deployment_spend_cap",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body = types::deploy::SpendCap,
    responses((status = 200, description = "The deployment, with its cap", body = Deployment)),
    security(("bearer" = ["deployments:write"]))
)]
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
