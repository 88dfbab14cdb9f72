//! `GET /api/v1/runs`: the newest 20 runs of all the caller's deployments,
//! the dashboard's feed.

use axum::Json;
use axum::extract::State;
use service::{Services, runs};

use super::list::RunList;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn recent_runs(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
) -> Result<Json<RunList>, AppError> {
    let items = runs::recent(&services, &caller.actor).await?;
    Ok(Json(RunList { items }))
}
