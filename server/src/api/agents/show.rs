//! `GET /api/v1/agents/{slug}`

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, agents};
use types::AgentDetail;

use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn show_agent(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<Json<AgentDetail>, AppError> {
    Ok(Json(
        agents::by_slug(&services, &caller.actor, &slug).await?,
    ))
}
