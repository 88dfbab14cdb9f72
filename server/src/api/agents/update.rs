//! `PATCH /api/v1/agents/{slug} {visibility?, published?}`

use axum::Json;
use axum::extract::Path;
use service::{agents, authoring};
use types::AgentDetail;
use types::market::AgentSettings;

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

pub async fn update_agent(
    call: Call,
    Path(slug): Path<String>,
    Body(settings): Body<AgentSettings>,
) -> Reply<AgentDetail> {
    authoring::change_settings(&call.services, &call.actor, &slug, settings, &call.meta).await?;
    Ok(Json(
        agents::by_slug(&call.services, &call.actor, &slug).await?,
    ))
}
