//! `POST /api/v1/agents {name, slug?, workspace?, template? | fork_of?}`

use app::model::market::{AgentRef, CreateAgent};
use app::service::{Services, authoring};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn create_agent(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Body(request): Body<CreateAgent>,
) -> Result<(StatusCode, Json<AgentRef>), AppError> {
    let created = authoring::create(&services, &caller.actor, request, &caller.meta).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
