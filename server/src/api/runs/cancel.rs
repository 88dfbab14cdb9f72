//! `POST /api/v1/runs/{id}/cancel`: a queued run ends at once, a running
//! one as soon as the server running it hears.

use service::runs;
use types::deploy::Run;

use crate::api::extract::{Answer, Call, PathId, accepted};
use types::RunId;

pub async fn cancel_run(call: Call, PathId(id): PathId<RunId>) -> Answer<Run> {
    accepted(runs::cancel(&call.services, &call.actor, id.0).await?)
}
