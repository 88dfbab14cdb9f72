//! `POST /api/v1/deployments {agent, version?, workspace?, name?, config?}`:
//! 202 with the deployment, `queued`; follow `deployment:<id>` for the rest.

use service::deployments;
use types::deploy::{CreateDeployment, Deployment};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, accepted};

/// Deploy an agent
///
/// Creates a deployment of a published version of an agent the caller may
/// see (the newest when `version` is absent), in a workspace where the caller
/// is a member or above, and queues its deploy. Follow the live topic
/// `deployment:<id>` for its progress.
#[utoipa::path(
    post,
    path = "/deployments",
    tag = "deployments",
    request_body = CreateDeployment,
    responses(
        (status = 202, description = "The deployment, queued", body = Deployment),
        (status = 404, description = "No such agent or workspace, or none the caller may see",
            body = ErrorEnvelope),
        (status = 409, description = "The agent is archived, or has no published version",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn create_deployment(
    call: Call,
    Body(request): Body<CreateDeployment>,
) -> Answer<Deployment> {
    accepted(deployments::create(&call.services, &call.actor, &call.meta, request).await?)
}
