//! `POST /api/v1/runs/{id}/cancel`: a queued run ends at once, a running
//! one as soon as the server running it hears.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use service::{Services, runs};
use types::deploy::Run;

use super::run_id;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn cancel_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Run>), AppError> {
    let run = runs::cancel(&services, &caller.actor, run_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
