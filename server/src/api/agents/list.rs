//! `GET /api/v1/agents?q=&category=&limit=&cursor=`

use app::model::{AgentPage, AgentQuery};
use app::service::{Services, agents};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::auth::CallerOf;
use crate::error::AppError;

/// Raw query parameters; numbers arrive as text so a bad one can be named.
#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    category: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub async fn list_agents(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<AgentPage>, AppError> {
    let Query(params) = params.map_err(|e| {
        AppError::invalid(
            "query",
            format!("malformed query string: {}", e.body_text()),
        )
    })?;
    let limit = params
        .limit
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| agents::invalid_limit())
        })
        .transpose()?;
    let query = AgentQuery {
        q: params.q,
        category: params.category,
        limit,
        cursor: params.cursor,
    };
    Ok(Json(agents::list(&services, &caller.actor, query).await?))
}
