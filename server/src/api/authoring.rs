//! Authoring helpers outside one agent: templates, the caller's agents, the
//! Markdown preview, and creator profiles.

use axum::Json;
use axum::extract::Path;
use serde::{Deserialize, Serialize};
use service::{agents, authoring, markdown};
use types::market::{CreatorProfile, OwnAgent, Template};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

/// List templates
///
/// The templates a new agent can start from. Anyone may read them.
#[utoipa::path(
    get,
    path = "/templates",
    tag = "authoring",
    responses((status = 200, description = "The templates", body = Vec<Template>)),
    security(())
)]
pub async fn list_templates() -> Json<Vec<Template>> {
    Json(authoring::templates())
}

/// List my agents
///
/// The agents the caller can edit (in workspaces where they are at least a
/// member; a key's own workspace only), most recently edited first.
#[utoipa::path(
    get,
    path = "/me/agents",
    tag = "authoring",
    responses((status = 200, description = "The caller's agents", body = Vec<OwnAgent>)),
    security(("bearer" = ["agents:read"]))
)]
pub async fn list_own_agents(call: Call) -> Reply<Vec<OwnAgent>> {
    Ok(Json(
        authoring::own_agents(&call.services, &call.actor).await?,
    ))
}

/// Show a creator
///
/// A creator's public profile and the agents they offer.
#[utoipa::path(
    get,
    path = "/creators/{handle}",
    tag = "authoring",
    params(("handle" = String, Path, description = "The creator's handle")),
    responses((status = 200, description = "The creator's profile", body = CreatorProfile)),
    security((), ("bearer" = ["agents:read"]))
)]
pub async fn show_creator(call: Call, Path(handle): Path<String>) -> Reply<CreatorProfile> {
    Ok(Json(
        agents::creator(&call.services, &call.actor, &handle).await?,
    ))
}

/// Markdown to render.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MarkdownText {
    /// The Markdown, at most 100,000 characters.
    text: String,
}

/// Rendered Markdown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MarkdownHtml {
    /// Sanitised HTML, as the agent page shows it.
    html: String,
}

/// Render Markdown
///
/// The editor's README preview: Markdown rendered and sanitised as the agent
/// page does it. For any signed-in caller.
#[utoipa::path(
    post,
    path = "/markdown",
    tag = "authoring",
    request_body = MarkdownText,
    responses((status = 200, description = "The rendered HTML", body = MarkdownHtml)),
    security(("bearer" = []))
)]
pub async fn render_markdown(call: Call, Body(body): Body<MarkdownText>) -> Reply<MarkdownHtml> {
    let html = markdown::preview(&call.actor, &body.text)?;
    Ok(Json(MarkdownHtml { html }))
}
