//! `POST /api/v1/agents {name, slug?, workspace?, template? | fork_of?}`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use service::{Services, authoring};
use types::market::{AgentRef, CreateAgent};

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
