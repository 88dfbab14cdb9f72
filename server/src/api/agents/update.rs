//! `PATCH /api/v1/agents/{slug} {visibility?, published?, archived?, …}`
//! and `DELETE /api/v1/agents/{slug}`.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::{agents, authoring};
use types::AgentDetail;
use types::error::ErrorEnvelope;
use types::market::AgentSettings;

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};
use crate::error::AppError;

/// Change an agent's settings
///
/// Changes who sees an agent and whether its source is public, or takes it
/// off (or back on) the marketplace; only the fields given change. For
/// members of the agent's workspace.
#[utoipa::path(
    patch,
    path = "/agents/{slug}",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = AgentSettings,
    responses(
        (status = 200, description = "The agent, changed", body = AgentDetail),
        (status = 409, description = "`published` is true but no version is published yet",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn update_agent(
    call: Call,
    Path(slug): Path<String>,
    Body(settings): Body<AgentSettings>,
) -> Reply<AgentDetail> {
    authoring::change_settings(&call.services, &call.actor, &slug, settings, &call.meta).await?;
    Ok(Json(
        agents::after_change(&call.services, &call.actor, &slug).await?,
    ))
}

/// Delete an agent
///
/// Deletes the agent for everyone (its slug stays taken); refused while any
/// deployment of it still runs. For members of the agent's workspace.
#[utoipa::path(
    delete,
    path = "/agents/{slug}",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    responses(
        (status = 204, description = "The agent is deleted"),
        (status = 409, description = "Deployments of the agent still run", body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn delete_agent(call: Call, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    authoring::delete(&call.services, &call.actor, &slug, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
