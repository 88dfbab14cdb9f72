//! `POST /api/v1/agents {name, slug?, workspace?, template? | fork_of?}`

use service::authoring;
use types::market::{AgentRef, CreateAgent};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, created};

pub async fn create_agent(call: Call, Body(request): Body<CreateAgent>) -> Answer<AgentRef> {
    created(authoring::create(&call.services, &call.actor, request, &call.meta).await?)
}
