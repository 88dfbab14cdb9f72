//! Authoring helpers outside one agent: templates, the caller's agents, the
//! Markdown preview, and creator profiles.

use axum::Json;
use axum::extract::Path;
use serde::{Deserialize, Serialize};
use service::{agents, authoring, markdown};
use types::market::{CreatorProfile, OwnAgent, Template};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

pub async fn list_templates() -> Json<Vec<Template>> {
    Json(authoring::templates())
}

pub async fn list_own_agents(call: Call) -> Reply<Vec<OwnAgent>> {
    Ok(Json(
        authoring::own_agents(&call.services, &call.actor).await?,
    ))
}

pub async fn show_creator(call: Call, Path(handle): Path<String>) -> Reply<CreatorProfile> {
    Ok(Json(
        agents::creator(&call.services, &call.actor, &handle).await?,
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
pub async fn render_markdown(call: Call, Body(body): Body<MarkdownText>) -> Reply<MarkdownHtml> {
    let html = markdown::preview(&call.actor, &body.text)?;
    Ok(Json(MarkdownHtml { html }))
}
