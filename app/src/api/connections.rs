//! Connections, as the Integrations page and a deployment's Connections
//! panel use them: the provider catalogue, a workspace's connected
//! accounts, connecting by sign-in (the flow's cookie left with the
//! browser's door, as `POST /api/v1/connections/authorize` sets it) or with
//! a key, disconnecting, and binding a deployment's needs after consent.
//! Each is one call into `service::connections`, as the REST routes are.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::connection::{
    BindConnection, Connection, ConnectionStarted, DeploymentConnections, NewKeyConnection,
    Provider, StartConnection,
};
use types::error::ApiError;
use uuid::Uuid;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, failed, meta, services};

/// The catalogue, with whether this server can connect each provider.
#[server(prefix = "/api/fn", endpoint = "list_providers", input = GetUrl, client = CsrfClient)]
pub async fn list_providers() -> Result<Vec<Provider>, ApiError> {
    Ok(service::connections::providers(&services()?))
}

/// A workspace's connected accounts (the personal one when `None`).
#[server(prefix = "/api/fn", endpoint = "list_connections", input = GetUrl, client = CsrfClient)]
pub async fn list_connections(workspace: Option<String>) -> Result<Vec<Connection>, ApiError> {
    answer(service::connections::list(
        &services()?,
        &actor(),
        workspace.as_deref(),
    ))
    .await
}

/// Starts a sign-in at the provider: where to send the browser. The flow's
/// cookie goes with the answer; only this browser may finish it.
#[server(prefix = "/api/fn", endpoint = "connect_by_sign_in", input = Json, client = CsrfClient)]
pub async fn connect_by_sign_in(
    workspace: Option<String>,
    request: StartConnection,
) -> Result<ConnectionStarted, ApiError> {
    let door: service::auth::door::BrowserDoor = use_context().ok_or_else(|| {
        failed(service::ServiceError::Internal(anyhow::anyhow!(
            "the browser's door is missing from the server function context"
        )))
    })?;
    let started = answer(service::connections::flows::start(
        &services()?,
        &actor(),
        workspace.as_deref(),
        request,
    ))
    .await?;
    door.leave_connect_flow(started.browser_token);
    Ok(ConnectionStarted {
        authorize_url: started.authorize_url,
    })
}

/// Connects with a key (checked at the provider first): 201.
#[server(prefix = "/api/fn", endpoint = "connect_key", input = Json, client = CsrfClient)]
pub async fn connect_key(
    workspace: Option<String>,
    request: NewKeyConnection,
) -> Result<Connection, ApiError> {
    answer_with(
        201,
        service::connections::connect_key(
            &services()?,
            &actor(),
            &meta(),
            workspace.as_deref(),
            request,
        ),
    )
    .await
}

/// Disconnects (revoked at the provider); its deployments lose it at once.
#[server(prefix = "/api/fn", endpoint = "disconnect_connection", input = Json, client = CsrfClient)]
pub async fn disconnect_connection(id: Uuid) -> Result<(), ApiError> {
    answer(service::connections::disconnect(
        &services()?,
        &actor(),
        &meta(),
        id,
    ))
    .await
}

/// What a deployment's agent needs, what is bound, and what its consent
/// screen names.
#[server(prefix = "/api/fn", endpoint = "list_deployment_connections", input = GetUrl, client = CsrfClient)]
pub async fn list_deployment_connections(
    deployment: Uuid,
) -> Result<DeploymentConnections, ApiError> {
    answer(service::connections::bindings::list(
        &services()?,
        &actor(),
        deployment,
    ))
    .await
}

/// Binds one of the agent's needs to a connection, after consent.
#[server(prefix = "/api/fn", endpoint = "bind_deployment_connection", input = Json, client = CsrfClient)]
pub async fn bind_deployment_connection(
    deployment: Uuid,
    provider: String,
    request: BindConnection,
) -> Result<DeploymentConnections, ApiError> {
    answer(service::connections::bindings::bind(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        &provider,
        request,
    ))
    .await
}

/// Unbinds: the agent's next call is refused.
#[server(prefix = "/api/fn", endpoint = "unbind_deployment_connection", input = Json, client = CsrfClient)]
pub async fn unbind_deployment_connection(
    deployment: Uuid,
    provider: String,
) -> Result<(), ApiError> {
    answer(service::connections::bindings::unbind(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        &provider,
    ))
    .await
}
