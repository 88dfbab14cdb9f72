//! `GET /api/v1/runs/{id}`: input, output, error, logs, duration, fuel and
//! peak memory.

use axum::Json;
use service::runs;
use types::deploy::Run;

use crate::api::extract::{Call, PathId, Reply};
use types::RunId;

/// Show a run
///
/// One run whole: its status, input, output, error, logs, duration, fuel,
/// peak memory and language-model use. For members of its workspace.
#[utoipa::path(
    get,
    path = "/runs/{id}",
    tag = "runs",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    responses((status = 200, description = "The run", body = Run)),
    security(("bearer" = ["runs:read"]))
)]
pub async fn show_run(call: Call, PathId(id): PathId<RunId>) -> Reply<Run> {
    Ok(Json(runs::get(&call.services, &call.actor, id.0).await?))
}
