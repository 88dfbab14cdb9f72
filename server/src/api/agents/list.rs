//! `GET /api/v1/agents?q=&category=&tags=&min_price=&max_price=&free=&sort=&limit=&cursor=`

use axum::Json;
use serde::Deserialize;
use service::agents;
use types::{AgentPage, AgentQuery};

use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

/// Raw query parameters; numbers arrive as text so a bad one can be named.
/// The document states what they must be.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words to search names, summaries, tags and READMEs for.
    q: Option<String>,
    /// A category slug.
    category: Option<String>,
    /// Tags, comma-separated; an agent must carry every one.
    tags: Option<String>,
    /// Lowest price per run, in credits.
    #[param(value_type = Option<i64>, minimum = 0)]
    min_price: Option<String>,
    /// Highest price per run, in credits.
    #[param(value_type = Option<i64>, minimum = 0)]
    max_price: Option<String>,
    /// Only free agents (`true`) or only paid ones (`false`).
    #[param(value_type = Option<bool>)]
    free: Option<String>,
    /// The order (`relevance` needs `q`).
    #[param(value_type = Option<types::market::AgentSort>)]
    sort: Option<String>,
    /// Agents per page, 1 to 100.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
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

/// List and search agents
///
/// The marketplace's public agents, searched and filtered, one page at a time.
#[utoipa::path(
    get,
    path = "/agents",
    tag = "agents",
    params(ListParams),
    responses((status = 200, description = "One page of agents", body = AgentPage)),
    security((), ("bearer" = ["agents:read"]))
)]
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
