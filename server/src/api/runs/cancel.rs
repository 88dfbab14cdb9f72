//! `POST /api/v1/runs/{id}/cancel`: a queued run ends at once, a running
//! one as soon as the server running it hears.

use service::runs;
use types::deploy::Run;

use crate::api::extract::{Answer, Call, PathId, accepted};
use types::RunId;

/// Cancel a run
///
/// A queued run ends at once, a running one as soon as the server running it
/// hears; a finished run stays as it is. For members and up of its workspace.
#[utoipa::path(
    post,
    path = "/runs/{id}/cancel",
    tag = "runs",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    responses((
        status = 202,
        description = "The run: `cancelled`, still `running` until its server hears, or as it \
            was when it had finished",
        body = Run
    )),
    security(("bearer" = ["runs:write"]))
)]
pub async fn cancel_run(call: Call, PathId(id): PathId<RunId>) -> Answer<Run> {
    accepted(runs::cancel(&call.services, &call.actor, id.0).await?)
}
