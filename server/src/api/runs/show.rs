//! `GET /api/v1/runs/{id}`: input, output, error, logs, duration, fuel and
//! peak memory.

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, runs};
use types::deploy::Run;

use super::run_id;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn show_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<Json<Run>, AppError> {
    Ok(Json(
        runs::get(&services, &caller.actor, run_id(&id)?).await?,
    ))
}
