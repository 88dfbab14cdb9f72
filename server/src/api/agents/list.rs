//! `GET /api/v1/agents?q=&category=&tags=&min_price=&max_price=&free=&sort=&limit=&cursor=`

use axum::Json;
use serde::Deserialize;
use service::agents;
use types::{AgentPage, AgentQuery};

use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

/// Raw query parameters; numbers arrive as text so a bad one can be named.
#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    category: Option<String>,
    tags: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    free: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn number(field: &'static str, text: Option<String>) -> Result<Option<i64>, AppError> {
    text.filter(|text| !text.trim().is_empty())
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid(field, "must be a whole number"))
        })
        .transpose()
}

pub async fn list_agents(call: Call, QueryOf(params): QueryOf<ListParams>) -> Reply<AgentPage> {
    let limit = params
        .limit
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| agents::invalid_limit())
        })
        .transpose()?;
    let free = match params.free.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => return Err(AppError::invalid("free", "must be true or false")),
    };
    let query = AgentQuery {
        q: params.q,
        category: params.category,
        tags: params.tags,
        min_price: number("min_price", params.min_price)?,
        max_price: number("max_price", params.max_price)?,
        free,
        sort: params.sort,
        limit,
        cursor: params.cursor,
    };
    Ok(Json(
        agents::list(&call.services, &call.actor, query).await?,
    ))
}
