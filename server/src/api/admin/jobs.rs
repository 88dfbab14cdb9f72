//! `GET /api/v1/admin/jobs` (depth per kind, dead jobs),
//! `POST /api/v1/admin/jobs/{id}/retry` and `DELETE /api/v1/admin/jobs/{id}`
//! (dead jobs only). Platform administrators in a browser session only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use service::{Services, jobs};
use types::jobs::QueueOverview;

use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn show_jobs(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
) -> Result<Json<QueueOverview>, AppError> {
    Ok(Json(jobs::overview(&services, &caller.actor).await?))
}

fn job_id(text: &str) -> Result<i64, AppError> {
    text.parse()
        .map_err(|_| AppError::invalid("id", "must be a job number"))
}

pub async fn retry_job(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    jobs::retry_dead(&services, &caller.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn discard_job(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    jobs::discard_dead(&services, &caller.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
