//! Deployments: listing and reading them, acting on them (stop, start,
//! restart, redeploy, delete) and changing their config, secrets and spend
//! cap. Acts answer 202 as `/api/v1/deployments/...` does; changes are audited.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::deploy::{Deployment, SecretChanges};
use types::error::ApiError;
use uuid::Uuid;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, answered, failed, meta, services};
#[cfg(feature = "ssr")]
use service::deployments::{self, Action};

/// Stops, starts or restarts deployment `id`: 202, as the REST API answers.
#[cfg(feature = "ssr")]
async fn act(id: Uuid, action: Action) -> Result<Deployment, ApiError> {
    let deployment = deployments::act(&services()?, &actor(), &meta(), id, action)
        .await
        .map_err(failed)?
        .ok_or_else(|| failed(service::ServiceError::NotFound { what: "deployment" }))?;
    Ok(answered(202, deployment))
}

/// Deploys a published agent (202): the deployment is `queued`; follow
/// `deployment:<id>` for the rest.
#[server(prefix = "/api/fn", endpoint = "create_deployment", input = Json, client = CsrfClient)]
pub async fn create_deployment(
    request: types::deploy::CreateDeployment,
) -> Result<Deployment, ApiError> {
    answer_with(
        202,
        deployments::create(&services()?, &actor(), &meta(), request),
    )
    .await
}

#[server(prefix = "/api/fn", endpoint = "list_deployments", input = GetUrl, client = CsrfClient)]
pub async fn list_deployments() -> Result<Vec<Deployment>, ApiError> {
    answer(deployments::list(&services()?, &actor())).await
}

#[server(prefix = "/api/fn", endpoint = "get_deployment", input = GetUrl, client = CsrfClient)]
pub async fn get_deployment(id: Uuid) -> Result<Deployment, ApiError> {
    answer(deployments::show(&services()?, &actor(), id)).await
}

#[server(prefix = "/api/fn", endpoint = "stop_deployment", input = Json, client = CsrfClient)]
pub async fn stop_deployment(id: Uuid) -> Result<Deployment, ApiError> {
    act(id, Action::Stop).await
}

#[server(prefix = "/api/fn", endpoint = "start_deployment", input = Json, client = CsrfClient)]
pub async fn start_deployment(id: Uuid) -> Result<Deployment, ApiError> {
    act(id, Action::Start).await
}

#[server(prefix = "/api/fn", endpoint = "restart_deployment", input = Json, client = CsrfClient)]
pub async fn restart_deployment(id: Uuid) -> Result<Deployment, ApiError> {
    act(id, Action::Restart).await
}

#[server(prefix = "/api/fn", endpoint = "redeploy_deployment", input = Json, client = CsrfClient)]
pub async fn redeploy_deployment(id: Uuid, version: String) -> Result<Deployment, ApiError> {
    answer_with(
        202,
        deployments::redeploy(&services()?, &actor(), &meta(), id, &version),
    )
    .await
}

/// Deletes deployment `id` (the REST API answers 204; a server function
/// answers 200 with nothing).
#[server(prefix = "/api/fn", endpoint = "delete_deployment", input = Json, client = CsrfClient)]
pub async fn delete_deployment(id: Uuid) -> Result<(), ApiError> {
    deployments::act(&services()?, &actor(), &meta(), id, Action::Delete)
        .await
        .map_err(failed)?;
    Ok(())
}

/// Replaces the whole config (text values).
#[server(prefix = "/api/fn", endpoint = "change_deployment_config", input = Json, client = CsrfClient)]
pub async fn change_deployment_config(
    id: Uuid,
    config: serde_json::Map<String, serde_json::Value>,
) -> Result<Deployment, ApiError> {
    answer(deployments::change_config(
        &services()?,
        &actor(),
        &meta(),
        id,
        config,
    ))
    .await
}

/// Sets (`Some`) or removes (`None`) secrets; the answer lists names only.
#[server(prefix = "/api/fn", endpoint = "change_deployment_secrets", input = Json, client = CsrfClient)]
pub async fn change_deployment_secrets(
    id: Uuid,
    changes: SecretChanges,
) -> Result<Deployment, ApiError> {
    answer(deployments::change_secrets(
        &services()?,
        &actor(),
        &meta(),
        id,
        changes,
    ))
    .await
}

/// Sets the monthly spend cap, or lifts it with `null` (admins and owners).
/// `cap` must name `monthly_credits`: a missing field is refused, never read
/// as "no cap".
#[server(prefix = "/api/fn", endpoint = "change_deployment_spend_cap", input = Json, client = CsrfClient)]
pub async fn change_deployment_spend_cap(
    id: Uuid,
    cap: types::deploy::SpendCap,
) -> Result<Deployment, ApiError> {
    answer(deployments::change_spend_cap(
        &services()?,
        &actor(),
        &meta(),
        id,
        cap.monthly_credits,
    ))
    .await
}
