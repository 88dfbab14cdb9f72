//! `POST /api/v1/agents {name, slug?, workspace?, template? | fork_of?}`

use axum::Json;
use axum::http::StatusCode;
use service::authoring;
use types::market::{AgentRef, CreateAgent};

use crate::api::body::Body;
use crate::api::extract::Call;
use crate::error::AppError;

pub async fn create_agent(
    call: Call,
    Body(request): Body<CreateAgent>,
) -> Result<(StatusCode, Json<AgentRef>), AppError> {
    let created = authoring::create(&call.services, &call.actor, request, &call.meta).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
