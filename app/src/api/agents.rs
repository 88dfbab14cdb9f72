//! The marketplace: listing and reading agents.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use types::error::ApiError;
use types::{AgentDetail, AgentPage, AgentQuery};

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, failed, services};

#[server(prefix = "/api/fn", endpoint = "list_agents", input = GetUrl, client = CsrfClient)]
pub async fn list_agents(query: AgentQuery) -> Result<AgentPage, ApiError> {
    service::agents::list(&services()?, &actor(), query)
        .await
        .map_err(failed)
}

#[server(prefix = "/api/fn", endpoint = "get_agent", input = GetUrl, client = CsrfClient)]
pub async fn get_agent(slug: String) -> Result<AgentDetail, ApiError> {
    service::agents::by_slug(&services()?, &actor(), &slug)
        .await
        .map_err(failed)
}
