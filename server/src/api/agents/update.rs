//! `PATCH /api/v1/agents/{slug} {visibility?, published?, archived?, …}`
//! and `DELETE /api/v1/agents/{slug}`.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::{agents, authoring};
use types::AgentDetail;
use types::market::AgentSettings;

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};
use crate::error::AppError;

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

/// Deletes the agent (409 `deployments` while any still run): 204.
pub async fn delete_agent(call: Call, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    authoring::delete(&call.services, &call.actor, &slug, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
