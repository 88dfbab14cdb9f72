//! `GET /api/v1/admin/jobs` (depth per kind, dead jobs),
//! `POST /api/v1/admin/jobs/{id}/retry` and `DELETE /api/v1/admin/jobs/{id}`
//! (dead jobs only). Platform administrators in a browser session only.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::jobs;
use types::jobs::QueueOverview;

use crate::api::extract::{Call, Reply};
use crate::error::AppError;

pub async fn show_jobs(call: Call) -> Reply<QueueOverview> {
    Ok(Json(jobs::overview(&call.services, &call.actor).await?))
}

fn job_id(text: &str) -> Result<i64, AppError> {
    text.parse()
        .map_err(|_| AppError::invalid("id", "must be a job number"))
}

pub async fn retry_job(call: Call, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    jobs::retry_dead(&call.services, &call.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn discard_job(call: Call, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    jobs::discard_dead(&call.services, &call.actor, job_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
