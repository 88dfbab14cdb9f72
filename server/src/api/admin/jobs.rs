//! `GET /api/v1/admin/jobs` (depth per kind, dead jobs),
//! `POST /api/v1/admin/jobs/{id}/retry` and `DELETE /api/v1/admin/jobs/{id}`
//! (dead jobs only). Platform administrators in a browser session only.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::jobs;
use types::error::ErrorEnvelope;
use types::jobs::QueueOverview;

use crate::api::extract::{Call, Reply};
use crate::error::AppError;

/// Show the job queue
///
/// The background job queue: how many jobs of each kind are ready, scheduled,
/// running, retrying and dead, and the newest dead jobs. Platform
/// administrators in a browser session only.
#[utoipa::path(
    get,
    path = "/admin/jobs",
    tag = "admin",
    responses((
        status = 200,
        description = "The queue's depth per kind and the newest dead jobs",
        body = QueueOverview
    )),
    security(("session" = []))
)]
pub async fn show_jobs(call: Call) -> Reply<QueueOverview> {
    Ok(Json(jobs::overview(&call.services, &call.actor).await?))
}

fn job_id(text: &str) -> Result<i64, AppError> {
    text.parse()
        .map_err(|_| AppError::invalid("id", "must be a job number"))
}

/// Retry a dead job
///
/// Queues a dead job again with fresh attempts (after its cause is fixed).
/// Platform administrators in a browser session only.
#[utoipa::path(
    post,
    path = "/admin/jobs/{id}/retry",
    tag = "admin",
    operation_id = "retry_dead_job",
    params(("id" = i64, Path, description = "The dead job's number")),
    responses(
        (status = 204, description = "The job is queued again"),
        (status = 409, description = "A newer job with the same key is queued or running",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn retry_job(call: Call, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    jobs::retry_dead(&call.services, &call.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Discard a dead job
///
/// Forgets a dead job. Platform administrators in a browser session only.
#[utoipa::path(
    delete,
    path = "/admin/jobs/{id}",
    tag = "admin",
    operation_id = "discard_dead_job",
    params(("id" = i64, Path, description = "The dead job's number")),
    responses((status = 204, description = "The job is gone")),
    security(("session" = []))
)]
pub async fn discard_job(call: Call, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    jobs::discard_dead(&call.services, &call.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
