//! Authoring helpers outside one agent: templates, the caller's agents, the
//! Markdown preview, and creator profiles.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::{Services, agents, authoring, markdown};
use types::market::{CreatorProfile, OwnAgent, Template};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn list_templates() -> Json<Vec<Template>> {
    Json(authoring::templates())
}

pub async fn list_own_agents(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
) -> Result<Json<Vec<OwnAgent>>, AppError> {
    Ok(Json(authoring::own_agents(&services, &caller.actor).await?))
}

pub async fn show_creator(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(handle): Path<String>,
) -> Result<Json<CreatorProfile>, AppError> {
    Ok(Json(
        agents::creator(&services, &caller.actor, &handle).await?,
    ))
}

#[derive(Deserialize)]
pub struct MarkdownText {
    text: String,
}

#[derive(Serialize)]
pub struct MarkdownHtml {
    html: String,
}

/// The editor's README preview.
pub async fn render_markdown(
    CallerOf(caller): CallerOf,
    Body(body): Body<MarkdownText>,
) -> Result<Json<MarkdownHtml>, AppError> {
    let html = markdown::preview(&caller.actor, &body.text)?;
    Ok(Json(MarkdownHtml { html }))
}
