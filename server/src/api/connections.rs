//! Connections: the provider catalogue (`GET /api/v1/providers`, public), a
//! workspace's connected accounts under `/api/v1/connections`, and
//! `GET /connect/callback`, where providers send the browser back (a
//! navigation, answered with a redirect to the page the flow started from).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use service::ServiceError;
use service::connections::{self, bindings, flows};
use types::connection::{
    BindConnection, Connection, ConnectionStarted, DeploymentConnections, NewKeyConnection,
    Provider, StartConnection,
};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, QueryOf, Reply, created};
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

/// The catalogue.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    /// By name.
    items: Vec<Provider>,
}

/// A workspace's connections.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectionList {
    /// By provider, oldest first; at most 50.
    items: Vec<Connection>,
}

/// Whose connections.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Whose {
    /// A team's slug; the caller's personal workspace if left out (a key's
    /// own).
    workspace: Option<String>,
}

fn connection_id(id: &str) -> Result<uuid::Uuid, ServiceError> {
    id.parse()
        .map_err(|_| ServiceError::NotFound { what: "connection" })
}

/// List providers
///
/// Every service a workspace can connect to, with how (sign-in, key), the
/// scopes a manifest may ask for, where a credential may be sent, and
/// whether this server can connect it (sign-in providers need an app the
/// operator configured).
#[utoipa::path(
    get,
    path = "/providers",
    tag = "connections",
    responses((status = 200, description = "The catalogue", body = ProviderList)),
    security((), ("bearer" = []))
)]
pub async fn list_providers(call: Call) -> Json<ProviderList> {
    Json(ProviderList {
        items: connections::providers(&call.services),
    })
}

/// List connections
///
/// A workspace's connected accounts, with who connected each, what the
/// provider granted and whether it works. Never a credential. For anyone
/// in the workspace.
#[utoipa::path(
    get,
    path = "/connections",
    tag = "connections",
    params(Whose),
    responses(
        (status = 200, description = "The workspace's connections", body = ConnectionList),
        (status = 404, description = "No workspace of that slug the caller is in",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["connections:write"]), ("bearer" = ["deployments:write"]))
)]
pub async fn list_connections(call: Call, QueryOf(whose): QueryOf<Whose>) -> Reply<ConnectionList> {
    let items = connections::list(&call.services, &call.actor, whose.workspace.as_deref()).await?;
    Ok(Json(ConnectionList { items }))
}

/// Connect with a key
///
/// Connects a provider that takes a key, basic credentials, or the
/// connecting person's own app (client credentials). The provider is
/// called first to check it: a credential it refuses is not kept (422,
/// field `key`). The credential is never answered again. For members and
/// up.
#[utoipa::path(
    post,
    path = "/connections",
    tag = "connections",
    params(Whose),
    request_body = NewKeyConnection,
    responses(
        (status = 201, description = "The connection", body = Connection),
        (status = 409, description = "The workspace has 50 connections already",
            body = ErrorEnvelope),
        (status = 503, description = "The provider did not answer", body = ErrorEnvelope),
    ),
    security(("bearer" = ["connections:write"]))
)]
pub async fn create_connection(
    call: Call,
    QueryOf(whose): QueryOf<Whose>,
    Body(request): Body<NewKeyConnection>,
) -> Answer<Connection> {
    created(
        connections::connect_key(
            &call.services,
            &call.actor,
            &call.meta,
            whose.workspace.as_deref(),
            request,
        )
        .await?,
    )
}

/// Start connecting through a provider's sign-in
///
/// For a signed-in browser: answers the provider's authorization URL to
/// send the browser to, and sets the cookie that binds the flow to this
/// browser. The provider sends the browser back to `/connect/callback`,
/// which returns it to `return_to` with `connected=<id>` or
/// `connect_error=<code>`. For members and up.
#[utoipa::path(
    post,
    path = "/connections/authorize",
    tag = "connections",
    params(Whose),
    request_body = StartConnection,
    responses(
        (status = 200, description = "Where to send the browser",
            body = ConnectionStarted,
            headers(("Set-Cookie" = String, description = "The flow's cookie"))),
        (status = 403, description = "Called with an API key: connecting needs a browser",
            body = ErrorEnvelope),
        (status = 409, description = "The workspace has 50 connections already",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn authorize_connection(
    State(state): State<AppState>,
    call: Call,
    QueryOf(whose): QueryOf<Whose>,
    Body(request): Body<StartConnection>,
) -> Result<Response, AppError> {
    let started = flows::start(
        &call.services,
        &call.actor,
        whose.workspace.as_deref(),
        request,
    )
    .await?;
    let mut response = Json(ConnectionStarted {
        authorize_url: started.authorize_url,
    })
    .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        state.cookies.connect_flow(&started.browser_token),
    );
    Ok(response)
}

/// Show a connection
#[utoipa::path(
    get,
    path = "/connections/{id}",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "The connection's id")),
    responses(
        (status = 200, description = "The connection", body = Connection),
        (status = 404, description = "No such connection in a workspace of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["connections:write"]), ("bearer" = ["deployments:write"]))
)]
pub async fn show_connection(call: Call, Path(id): Path<String>) -> Reply<Connection> {
    let id = connection_id(&id)?;
    Ok(Json(
        connections::get(&call.services, &call.actor, id).await?,
    ))
}

/// Disconnect
///
/// Deletes the connection: deployments using it lose it at once. The
/// provider is then asked to revoke the grant, where it offers a way. For
/// the member who connected it, or an admin.
#[utoipa::path(
    delete,
    path = "/connections/{id}",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "The connection's id")),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 403, description = "Neither the member who connected it nor an admin",
            body = ErrorEnvelope),
        (status = 404, description = "No such connection in a workspace of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["connections:write"]))
)]
pub async fn delete_connection(call: Call, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let id = connection_id(&id)?;
    connections::disconnect(&call.services, &call.actor, &call.meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn redirect(to: &str, cookie: HeaderValue) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/integrations")),
            ),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}

/// Add `name=value` to a path of this site.
fn with_query(path: &str, name: &str, value: &str) -> String {
    let (path, fragment) = path.split_once('#').unwrap_or((path, ""));
    let separator = if path.contains('?') { '&' } else { '?' };
    let fragment = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    format!("{path}{separator}{name}={value}{fragment}")
}

/// Finish connecting
///
/// Where providers send the browser back: trades the code, learns who the
/// account is, keeps the connection, and returns the browser to the page
/// the flow started from with `connected=<id>`, or with
/// `connect_error=<code>` when it did not work.
#[utoipa::path(
    get,
    path = "/connect/callback",
    tag = "connections",
    params(
        ("code" = Option<String>, Query, description = "The provider's authorization code"),
        ("state" = Option<String>, Query, description = "The flow's `state`, as sent"),
        ("error" = Option<String>, Query, description = "The provider's error, e.g. `access_denied`"),
    ),
    responses(
        (status = 303, description = "Back to the page the flow started from",
            headers(
                ("Location" = String, description = "Where the browser goes next"),
                ("Set-Cookie" = String, description = "The flow's cookie, cleared"),
            )),
        (status = 400, description = "The query string cannot be read", body = String,
            content_type = "text/plain"),
        (status = 403, description = "Called with an API key: this is for browsers",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn connect_callback(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    axum::extract::Query(params): axum::extract::Query<flows::Callback>,
) -> Response {
    if let Err(refused) = caller.actor.require_browser() {
        return AppError::from(refused).into_response();
    }
    let flow = state.cookies.connect_flow_token(&headers);
    let cleared = state.cookies.connect_flow_cleared();
    match flows::finish(&state.services, flow, params, &caller.meta).await {
        Ok((back, id)) => redirect(&with_query(&back, "connected", &id.to_string()), cleared),
        Err((failure, back)) => {
            redirect(&with_query(&back, "connect_error", failure.code()), cleared)
        }
    }
}

fn deployment_id(id: &str) -> Result<uuid::Uuid, ServiceError> {
    id.parse()
        .map_err(|_| ServiceError::NotFound { what: "deployment" })
}

/// List a deployment's connections
///
/// The connections its agent's manifest asks for, what each is bound to,
/// which of the workspace's connections could be, and what the consent
/// screen names (the agent, its author, each scope). For anyone who may
/// see the deployment.
#[utoipa::path(
    get,
    path = "/deployments/{id}/connections",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "The deployment's connections", body = DeploymentConnections),
        (status = 404, description = "No such deployment the caller may see", body = ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write"]), ("bearer" = ["connections:write"]))
)]
pub async fn list_deployment_connections(
    call: Call,
    Path(id): Path<String>,
) -> Reply<DeploymentConnections> {
    let id = deployment_id(&id)?;
    Ok(Json(bindings::list(&call.services, &call.actor, id).await?))
}

/// Bind a connection to a deployment
///
/// Lets the deployment's agent act in the account: `consented` with
/// `consent` listing exactly the scopes the agent asks for (what the
/// consent screen showed). Replaces an earlier binding of the provider.
/// For the member who connected the account, or an admin, who may change
/// the deployment.
#[utoipa::path(
    put,
    path = "/deployments/{id}/connections/{provider}",
    tag = "connections",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("provider" = String, Path, description = "The provider's id (`github`)"),
    ),
    request_body = BindConnection,
    responses(
        (status = 200, description = "The deployment's connections", body = DeploymentConnections),
        (status = 403, description = "Neither the member who connected it nor an admin",
            body = ErrorEnvelope),
        (status = 409, description = "The connection is broken, or was not granted a scope \
            the agent asks for", body = ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write", "connections:write"]))
)]
pub async fn bind_deployment_connection(
    call: Call,
    Path((id, provider)): Path<(String, String)>,
    Body(request): Body<BindConnection>,
) -> Reply<DeploymentConnections> {
    let id = deployment_id(&id)?;
    Ok(Json(
        bindings::bind(
            &call.services,
            &call.actor,
            &call.meta,
            id,
            &provider,
            request,
        )
        .await?,
    ))
}

/// Unbind a deployment's connection
///
/// The agent's next call to the provider is refused. For members who may
/// change the deployment.
#[utoipa::path(
    delete,
    path = "/deployments/{id}/connections/{provider}",
    tag = "connections",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("provider" = String, Path, description = "The provider's id (`github`)"),
    ),
    responses(
        (status = 204, description = "Unbound"),
        (status = 404, description = "No such deployment, or nothing bound for the provider",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn unbind_deployment_connection(
    call: Call,
    Path((id, provider)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let id = deployment_id(&id)?;
    bindings::unbind(&call.services, &call.actor, &call.meta, id, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
