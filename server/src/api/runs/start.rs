//! `POST /api/v1/deployments/{id}/runs {input, mode?: "sync"|"async"}`,
//! with an optional `Idempotency-Key` header. Synchronous (the default):
//! 200 with the finished run, or 202 with the run when it takes longer than
//! the server waits; asynchronous: 202 at once. Follow `run:<id>` or poll
//! `GET /api/v1/runs/{id}` for the rest.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use service::runs;
use types::deploy::{Run, StartRun};

use crate::api::body::Body;
use crate::api::extract::{Call, PathId};
use crate::error::AppError;
use types::DeploymentId;

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
