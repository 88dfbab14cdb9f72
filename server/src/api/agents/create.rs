//! `POST /api/v1/agents {name, slug?, workspace?, template? | fork_of?}`

use service::authoring;
use types::error::ErrorEnvelope;
use types::market::{AgentRef, CreateAgent};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, created};

/// Create an agent
///
/// A new agent in the caller's workspace (or `workspace`), from a template,
/// a fork of a public agent, or empty.
#[utoipa::path(
    post,
    path = "/agents",
    tag = "authoring",
    request_body = CreateAgent,
    responses(
        (status = 201, description = "The agent, made", body = AgentRef),
        (status = 404, description = "No such workspace, template or agent to fork", body = ErrorEnvelope),
        (status = 409, description = "The slug is taken", body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn create_agent(call: Call, Body(request): Body<CreateAgent>) -> Answer<AgentRef> {
    created(authoring::create(&call.services, &call.actor, request, &call.meta).await?)
}
