//! The editor: creating agents (from a template or as a fork), the draft,
//! test runs, publishing, an agent's settings and the README preview.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::error::ApiError;
use types::market::{self, AgentRef, Draft, DraftSaved, OwnAgent, RunReport, Template};
use types::{AgentDetail, VersionSummary};

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, failed, meta, services};
#[cfg(feature = "ssr")]
use service::{agents, authoring};

#[server(prefix = "/api/fn", endpoint = "list_templates", input = GetUrl, client = CsrfClient)]
pub async fn list_templates() -> Result<Vec<Template>, ApiError> {
    Ok(authoring::templates())
}

/// The agents the caller may edit, in every workspace they belong to.
#[server(prefix = "/api/fn", endpoint = "own_agents", input = GetUrl, client = CsrfClient)]
pub async fn own_agents() -> Result<Vec<OwnAgent>, ApiError> {
    answer(authoring::own_agents(&services()?, &actor())).await
}

/// A new agent from a template or as a fork of a visible one (201).
#[server(prefix = "/api/fn", endpoint = "create_agent", input = Json, client = CsrfClient)]
pub async fn create_agent(request: market::CreateAgent) -> Result<AgentRef, ApiError> {
    answer_with(
        201,
        authoring::create(&services()?, &actor(), request, &meta()),
    )
    .await
}

/// The editor's working copy, with the checks of its manifest.
#[server(prefix = "/api/fn", endpoint = "get_draft", input = GetUrl, client = CsrfClient)]
pub async fn get_draft(slug: String) -> Result<Draft, ApiError> {
    answer(authoring::draft(&services()?, &actor(), &slug)).await
}

/// Saves the draft; refused (409) when another save came after the
/// revision `changes` is based on.
#[server(prefix = "/api/fn", endpoint = "save_draft", input = Json, client = CsrfClient)]
pub async fn save_draft(
    slug: String,
    changes: market::DraftChanges,
) -> Result<DraftSaved, ApiError> {
    answer(authoring::save_draft(
        &services()?,
        &actor(),
        &slug,
        changes,
    ))
    .await
}

/// Runs the editor's text in the real sandbox.
#[server(prefix = "/api/fn", endpoint = "test_run", input = Json, client = CsrfClient)]
pub async fn test_run(
    slug: String,
    request: market::TestRunRequest,
) -> Result<RunReport, ApiError> {
    answer(authoring::test_run(&services()?, &actor(), &slug, request)).await
}

/// Publishes the draft as an immutable version (201).
#[server(prefix = "/api/fn", endpoint = "publish_version", input = Json, client = CsrfClient)]
pub async fn publish_version(
    slug: String,
    request: market::PublishRequest,
) -> Result<VersionSummary, ApiError> {
    answer_with(
        201,
        authoring::publish(&services()?, &actor(), &slug, request, &meta()),
    )
    .await
}

/// Changes the agent's visibility or listing, answering its page.
#[server(prefix = "/api/fn", endpoint = "change_agent_settings", input = Json, client = CsrfClient)]
pub async fn change_agent_settings(
    slug: String,
    settings: market::AgentSettings,
) -> Result<AgentDetail, ApiError> {
    let services = services()?;
    let actor = actor();
    authoring::change_settings(&services, &actor, &slug, settings, &meta())
        .await
        .map_err(failed)?;
    answer(agents::by_slug(&services, &actor, &slug)).await
}

/// Deletes the agent (refused while any deployment of it still runs).
#[server(prefix = "/api/fn", endpoint = "delete_agent", input = Json, client = CsrfClient)]
pub async fn delete_agent(slug: String) -> Result<(), ApiError> {
    answer(authoring::delete(&services()?, &actor(), &slug, &meta())).await
}

/// The README preview as sanitised HTML, rendered as the agent page does.
#[server(prefix = "/api/fn", endpoint = "render_markdown", input = Json, client = CsrfClient)]
pub async fn render_markdown(text: String) -> Result<String, ApiError> {
    service::markdown::preview(&actor(), &text).map_err(failed)
}
