//! `GET /api/v1/agents/{slug}`

use axum::Json;
use axum::extract::Path;
use service::agents;
use types::AgentDetail;

use crate::api::extract::{Call, Reply};

pub async fn show_agent(call: Call, Path(slug): Path<String>) -> Reply<AgentDetail> {
    Ok(Json(
        agents::by_slug(&call.services, &call.actor, &slug).await?,
    ))
}
