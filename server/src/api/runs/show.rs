//! `GET /api/v1/runs/{id}`: input, output, error, logs, duration, fuel and
//! peak memory.

use axum::Json;
use axum::extract::State;
use service::{Services, runs};
use types::deploy::Run;

use crate::api::extract::PathId;
use crate::auth::CallerOf;
use crate::error::AppError;
use types::RunId;

pub async fn show_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<RunId>,
) -> Result<Json<Run>, AppError> {
    Ok(Json(runs::get(&services, &caller.actor, id.0).await?))
}
