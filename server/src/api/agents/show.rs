//! `GET /api/v1/agents/{slug}`

use app::model::AgentDetail;
use app::service::{Services, agents};
use axum::Json;
use axum::extract::{Path, State};

use crate::error::AppError;

pub async fn show_agent(
    State(services): State<Services>,
    Path(slug): Path<String>,
) -> Result<Json<AgentDetail>, AppError> {
    Ok(Json(agents::by_slug(&services, &slug).await?))
}
