//! `POST /api/v1/runs/{id}/cancel`: a queued run ends at once, a running
//! one as soon as the server running it hears.

use axum::Json;
use axum::http::StatusCode;
use service::runs;
use types::deploy::Run;

use crate::api::extract::{Call, PathId};
use crate::error::AppError;
use types::RunId;

pub async fn cancel_run(
    call: Call,
    PathId(id): PathId<RunId>,
) -> Result<(StatusCode, Json<Run>), AppError> {
    let run = runs::cancel(&call.services, &call.actor, id.0).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
