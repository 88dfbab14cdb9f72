//! `POST /api/v1/deployments/{id}/runs {input, mode?: "sync"|"async"}`,
//! with an optional `Idempotency-Key` header. Synchronous (the default):
//! 200 with the finished run, or 202 with the run when it takes longer than
//! the server waits; asynchronous: 202 at once. Follow `run:<id>` or poll
//! `GET /api/v1/runs/{id}` for the rest.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use service::{Services, runs};
use types::deploy::{Run, StartRun};

use crate::api::body::Body;
use crate::api::extract::PathId;
use crate::auth::CallerOf;
use crate::error::AppError;
use types::DeploymentId;

pub async fn start_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
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
    let trigger = if caller.actor.key_id().is_some() {
        "api"
    } else {
        "ui"
    };
    let started = runs::start(
        &services,
        &caller.actor,
        id.0,
        request,
        trigger,
        idempotency_key,
    )
    .await?;
    let Some(executing) = started.executing else {
        let status = if started.run.status.is_finished() {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        return Ok((status, Json(started.run)));
    };
    let wait = services
        .runner
        .as_ref()
        .map_or(std::time::Duration::from_secs(10), |runner| {
            runner.sync_wait
        });
    // The run goes on if the wait ends first (or the client goes away).
    let finished = tokio::time::timeout(wait, executing).await.is_ok();
    let run = runs::get(&services, &caller.actor, started.run.id).await?;
    let status = if finished && run.status.is_finished() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(run)))
}
