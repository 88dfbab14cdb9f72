//! Server functions: the SPA's own data calls. Each body runs on the server
//! and delegates to the service layer, which the REST API shares.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::ApiError;
use crate::model::{AgentDetail, AgentPage, AgentQuery};

/// Server function URLs live under this prefix; the server routes it to Leptos.
pub const SERVER_FN_PREFIX: &str = "/api/fn";

#[cfg(feature = "ssr")]
fn services() -> Result<crate::service::Services, ApiError> {
    use_context::<crate::service::Services>().ok_or_else(|| {
        crate::service::ServiceError::Internal(anyhow::anyhow!(
            "Services missing from the server function context"
        ))
        .to_api_error()
    })
}

/// Who is calling; the server puts it in every server function's context.
#[cfg(feature = "ssr")]
fn actor() -> crate::service::auth::Actor {
    use_context::<crate::service::auth::Caller>()
        .map(|caller| caller.actor)
        .unwrap_or(crate::service::auth::Actor::Anonymous)
}

#[server(prefix = "/api/fn", endpoint = "list_agents", input = Json)]
pub async fn list_agents(query: AgentQuery) -> Result<AgentPage, ApiError> {
    use crate::service::{agents, error::server_fn_error};
    agents::list(&services()?, &actor(), query)
        .await
        .map_err(server_fn_error)
}

#[server(prefix = "/api/fn", endpoint = "get_agent", input = Json)]
pub async fn get_agent(slug: String) -> Result<AgentDetail, ApiError> {
    use crate::service::{agents, error::server_fn_error};
    agents::by_slug(&services()?, &actor(), &slug)
        .await
        .map_err(server_fn_error)
}
