//! `POST /api/v1/deployments {agent, version?, workspace?, name?, config?}`:
//! 202 with the deployment, `queued`; follow `deployment:<id>` for the rest.

use service::deployments;
use types::deploy::{CreateDeployment, Deployment};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, accepted};

pub async fn create_deployment(
    call: Call,
    Body(request): Body<CreateDeployment>,
) -> Answer<Deployment> {
    accepted(deployments::create(&call.services, &call.actor, &call.meta, request).await?)
}
