//! `PATCH /api/v1/agents/{slug} {visibility?, published?}`

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, agents, authoring};
use types::AgentDetail;
use types::market::AgentSettings;

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn update_agent(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(settings): Body<AgentSettings>,
) -> Result<Json<AgentDetail>, AppError> {
    authoring::change_settings(&services, &caller.actor, &slug, settings, &caller.meta).await?;
    Ok(Json(
        agents::by_slug(&services, &caller.actor, &slug).await?,
    ))
}
