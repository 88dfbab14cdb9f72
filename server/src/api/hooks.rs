//! Inbound webhook URLs: `POST /hooks/{token}` (no session, no key: the
//! token, and for a signed URL the signature, is the credential; the
//! token is kept out of the logs by `request_id::loggable`), and their
//! management under `/api/v1/deployments/{id}/hooks`.

use axum::body::Body as RawBody;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use service::{ServiceError, hooks};
use types::DeploymentId;
use types::deploy::Run;
use types::error::ErrorEnvelope;
use types::triggers::{Hook, HookChange, HookWithToken, NewHook, RotateHook};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::state::AppState;

/// The longest a caller may ask to wait for the run.
const MAX_WAIT_SECS: u64 = 30;
const DEFAULT_WAIT_SECS: u64 = 10;

/// What a call to a webhook URL answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HookAnswer {
    pub run_id: uuid::Uuid,
    /// `succeeded`, `failed`, `timed_out` or `cancelled` (200), or `queued`
    /// or `running` (202: follow it with the API).
    #[schema(value_type = types::deploy::RunStatus)]
    pub status: types::deploy::RunStatus,
    /// The run's output, when it succeeded.
    pub output: Option<serde_json::Value>,
    pub error: Option<types::deploy::RunError>,
}

/// How long to wait.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Wait {
    /// Seconds to wait for the run to finish, 0 to 30 (10 if left out); 0
    /// answers 202 at once.
    #[allow(dead_code)]
    wait: Option<u64>,
}

/// Call a deployment's webhook URL
///
/// Starts a run (`trigger = webhook`) with the body as its input: JSON,
/// form fields as an object, or text as a string. The agent reads the
/// request's method, query and the URL's allowed headers as `ctx.trigger`.
/// Answers the run when it finishes within `wait` seconds, else 202 with
/// its id. A signed URL also wants Standard Webhooks headers or
/// `X-Signature: sha256=…`.
#[utoipa::path(
    post,
    path = "/hooks/{token}",
    tag = "webhooks",
    operation_id = "call_hook",
    params(("token" = String, Path, description = "The URL's token, `hk_…`"), Wait),
    request_body(
        content = Object,
        content_type = "application/json",
        description = "The run's input (also `application/x-www-form-urlencoded` or text)"
    ),
    responses(
        (status = 200, description = "The run finished", body = HookAnswer),
        (status = 202, description = "The run goes on; follow it with the API", body = HookAnswer),
        (status = 400, description = "A signature is missing, does not verify, or its \
            timestamp is more than five minutes from now", body = ErrorEnvelope),
        (status = 404, description = "No such URL (or it is turned off)", body = ErrorEnvelope),
        (status = 409, description = "The deployment is not running", body = ErrorEnvelope),
        (status = 413, description = "The body is over the URL's limit", body = ErrorEnvelope),
        (status = 429, description = "The URL's requests a minute are used up",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn call_hook(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(token): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let ip = client
        .map(|Extension(client)| client.text())
        .unwrap_or_default();
    state.limits.api(ip.parse().ok())?;
    let wait = wait_of(request.uri().query())?;
    let hook = hooks::find(&state.services, &token).await?;
    let limit = usize::try_from(hook.max_body_bytes).unwrap_or(0);
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let body = axum::body::to_bytes(RawBody::new(body), limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge(limit))?;
    let inbound = hooks::Inbound {
        method: parts.method.to_string(),
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    let answer = hooks::receive(&state.services, &hook, inbound, wait).await?;
    let (status, run) = match answer {
        hooks::Answer::Finished(run) => (StatusCode::OK, run),
        hooks::Answer::Going(run) => (StatusCode::ACCEPTED, run),
    };
    Ok(respond(status, run))
}

fn respond(status: StatusCode, run: Run) -> Response {
    let id = run.id;
    let mut response = (
        status,
        Json(HookAnswer {
            run_id: run.id,
            status: run.status,
            output: run.output.clone(),
            error: run.error.clone(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert("agentdeck-run-id", value);
    }
    response
}

fn wait_of(query: Option<&str>) -> Result<std::time::Duration, AppError> {
    let wait = query
        .map(|q| form_urlencoded::parse(q.as_bytes()))
        .and_then(|mut pairs| pairs.find(|(name, _)| name == "wait"))
        .map(|(_, value)| value.into_owned());
    let seconds = match wait {
        None => DEFAULT_WAIT_SECS,
        Some(value) => match value.parse::<u64>() {
            Ok(seconds) if seconds <= MAX_WAIT_SECS => seconds,
            _ => {
                return Err(AppError::invalid(
                    "wait",
                    "must be a whole number of seconds, 0 to 30",
                ));
            }
        },
    };
    Ok(std::time::Duration::from_secs(seconds))
}

fn ids(deployment: &str, hook: &str) -> Result<(uuid::Uuid, uuid::Uuid), ServiceError> {
    let deployment = deployment
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "deployment" })?;
    let hook = hook.parse().map_err(|_| ServiceError::NotFound {
        what: "webhook URL",
    })?;
    Ok((deployment, hook))
}

/// A deployment's webhook URLs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HookList {
    /// Oldest first, at most 10.
    items: Vec<Hook>,
}

/// List a deployment's webhook URLs
///
/// Their tokens are never shown again. For anyone who may see the
/// deployment.
#[utoipa::path(
    get,
    path = "/deployments/{id}/hooks",
    tag = "triggers",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses((status = 200, description = "The deployment's webhook URLs", body = HookList)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn list_hooks(call: Call, PathId(id): PathId<DeploymentId>) -> Reply<HookList> {
    let items = hooks::list(&call.services, &call.actor, id.0).await?;
    Ok(Json(HookList { items }))
}

/// Add a webhook URL
///
/// `POST /hooks/<token>` then starts a run of the deployment, as the member
/// who made it. The URL (with its token) and a signed URL's secret are in
/// the answer, once. At most 10 per deployment. For members and up.
#[utoipa::path(
    post,
    path = "/deployments/{id}/hooks",
    tag = "triggers",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body = NewHook,
    responses(
        (status = 201, description = "The URL, its token and secret, and a curl",
            body = HookWithToken),
        (status = 409, description = "The deployment has 10 webhook URLs already",
            body = types::error::ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn create_hook(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(new): Body<NewHook>,
) -> Answer<HookWithToken> {
    created(hooks::create(&call.services, &call.actor, &call.meta, id.0, new).await?)
}

/// Change a webhook URL
///
/// Its name, allowed headers, limits, or on and off. For members and up.
#[utoipa::path(
    patch,
    path = "/deployments/{id}/hooks/{hook}",
    tag = "triggers",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("hook" = uuid::Uuid, Path, description = "The webhook URL's id"),
    ),
    request_body = HookChange,
    responses((status = 200, description = "The URL as changed", body = Hook)),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn change_hook(
    call: Call,
    Path((id, hook)): Path<(String, String)>,
    Body(change): Body<HookChange>,
) -> Reply<Hook> {
    let (id, hook) = ids(&id, &hook)?;
    Ok(Json(
        hooks::change(&call.services, &call.actor, &call.meta, id, hook, change).await?,
    ))
}

/// Delete a webhook URL
///
/// It answers 404 at once. For members and up.
#[utoipa::path(
    delete,
    path = "/deployments/{id}/hooks/{hook}",
    tag = "triggers",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("hook" = uuid::Uuid, Path, description = "The webhook URL's id"),
    ),
    responses((status = 204, description = "The URL is deleted")),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn delete_hook(
    call: Call,
    Path((id, hook)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let (id, hook) = ids(&id, &hook)?;
    hooks::delete(&call.services, &call.actor, &call.meta, id, hook).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a webhook URL's token
///
/// A new token (the old URL answers 404 at once) and, for a signed URL, a
/// new secret (the one given, or one made). For members and up.
#[utoipa::path(
    post,
    path = "/deployments/{id}/hooks/{hook}/rotate",
    tag = "triggers",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("hook" = uuid::Uuid, Path, description = "The webhook URL's id"),
    ),
    request_body = RotateHook,
    responses((status = 200, description = "The new URL and secret", body = HookWithToken)),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn rotate_hook(
    call: Call,
    Path((id, hook)): Path<(String, String)>,
    Body(request): Body<RotateHook>,
) -> Reply<HookWithToken> {
    let (id, hook) = ids(&id, &hook)?;
    Ok(Json(
        hooks::rotate(&call.services, &call.actor, &call.meta, id, hook, request).await?,
    ))
}
