//! `POST /api/v1/runs/{id}/cancel`: a queued run ends at once, a running
//! one as soon as the server running it hears.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use service::{Services, runs};
use types::deploy::Run;

use crate::api::extract::PathId;
use crate::auth::CallerOf;
use crate::error::AppError;
use types::RunId;

pub async fn cancel_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<RunId>,
) -> Result<(StatusCode, Json<Run>), AppError> {
    let run = runs::cancel(&services, &caller.actor, id.0).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
