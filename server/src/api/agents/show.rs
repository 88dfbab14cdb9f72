//! `GET /api/v1/agents/{slug}`

use axum::Json;
use axum::extract::Path;
use service::agents;
use types::AgentDetail;

use crate::api::extract::{Call, Reply};

/// Show an agent
///
/// A public agent, or a private one of the caller's workspace.
#[utoipa::path(
    get,
    path = "/agents/{slug}",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The agent", body = AgentDetail)),
    security((), ("bearer" = ["agents:read"]))
)]
pub async fn show_agent(call: Call, Path(slug): Path<String>) -> Reply<AgentDetail> {
    Ok(Json(
        agents::by_slug(&call.services, &call.actor, &slug).await?,
    ))
}
