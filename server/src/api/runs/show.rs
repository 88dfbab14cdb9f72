//! `GET /api/v1/runs/{id}`: input, output, error, logs, duration, fuel and
//! peak memory.

use axum::Json;
use service::runs;
use types::deploy::Run;

use crate::api::extract::{Call, PathId, Reply};
use types::RunId;

pub async fn show_run(call: Call, PathId(id): PathId<RunId>) -> Reply<Run> {
    Ok(Json(runs::get(&call.services, &call.actor, id.0).await?))
}
