//! `POST /api/v1/deployments/{id}/runs {input, mode?: "sync"|"async"}`,
//! with an optional `Idempotency-Key` header. Synchronous (the default):
//! 200 with the finished run, or 202 with the run when it takes longer than
//! the server waits; asynchronous: 202 at once. Follow `run:<id>` or poll
//! `GET /api/v1/runs/{id}` for the rest.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use service::runs;
use types::deploy::{Run, StartRun};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Call, PathId};
use crate::error::AppError;
use types::DeploymentId;

/// Start a run
///
/// Runs the deployment once with `input`. Synchronous (the default): answers
/// the finished run, or the run still going when it takes longer than the
/// server waits; asynchronous (`mode: "async"`): answers the queued run at
/// once. Follow `run:<id>` or poll `GET /api/v1/runs/{id}` for the rest. A
/// paid agent's price is held before it runs. For members and up of the
/// deployment's workspace.
#[utoipa::path(
    post,
    path = "/deployments/{id}/runs",
    tag = "runs",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 200 printable \
            characters: a start with a key this deployment has seen answers that run instead",
            min_length = 1, max_length = 200),
    ),
    request_body = StartRun,
    responses(
        (status = 200, description = "The run, finished (synchronous; succeeded or failed), or \
            the finished run an earlier start with this `Idempotency-Key` made", body = Run),
        (status = 202, description = "The run, queued (asynchronous) or still running after \
            the server's wait (or an unfinished earlier run of this `Idempotency-Key`)",
            body = Run),
        (status = 402, description = "Too few credits in the wallet for the run's price, or \
            the deployment's or API key's monthly spend cap reached", body = ErrorEnvelope),
        (status = 409, description = "The deployment is not running, or runs as many runs at \
            once as it may (start it with mode `async`)", body = ErrorEnvelope),
    ),
    security(("bearer" = ["runs:write"]))
)]
pub async fn start_run(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    headers: HeaderMap,
    Body(request): Body<StartRun>,
) -> Result<(StatusCode, Json<Run>), AppError> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| AppError::invalid("idempotency_key", "must be printable text"))?
                .to_owned(),
        ),
        None => None,
    };
    let answered =
        runs::start_and_wait(&call.services, &call.actor, id.0, request, idempotency_key).await?;
    let status = if answered.finished {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(answered.run)))
}
