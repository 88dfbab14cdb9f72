//! `GET /api/v1/runs`: the newest 20 runs of all the caller's deployments,
//! the dashboard's feed.

use axum::Json;
use service::runs;

use super::list::RunList;
use crate::api::extract::{Call, Reply};

pub async fn recent_runs(call: Call) -> Reply<RunList> {
    let items = runs::recent(&call.services, &call.actor).await?;
    Ok(Json(RunList { items }))
}
