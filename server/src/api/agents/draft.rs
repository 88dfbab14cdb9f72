//! `GET|PUT /api/v1/agents/{slug}/draft`: the editor's working copy. A PUT
//! carries the revision it is based on and is refused (409) if another save
//! came first.

use axum::Json;
use axum::extract::Path;
use service::authoring;
use types::error::ErrorEnvelope;
use types::market::{Draft, DraftChanges, DraftSaved};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

/// Show an agent's draft
///
/// The editor's working copy of an agent (started from its newest version
/// when there is none), with the script's syntax diagnostics. For members
/// of the agent's workspace.
#[utoipa::path(
    get,
    path = "/agents/{slug}/draft",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    responses((status = 200, description = "The draft", body = Draft)),
    security(("bearer" = ["agents:write"]))
)]
pub async fn show_draft(call: Call, Path(slug): Path<String>) -> Reply<Draft> {
    Ok(Json(
        authoring::draft(&call.services, &call.actor, &slug).await?,
    ))
}

/// Save an agent's draft
///
/// Saves the editor's working copy over the revision it is based on, and
/// answers the new revision with the script's syntax diagnostics. For
/// members of the agent's workspace.
#[utoipa::path(
    put,
    path = "/agents/{slug}/draft",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = DraftChanges,
    responses(
        (status = 200, description = "The draft, saved", body = DraftSaved),
        (status = 409, description = "The draft was saved elsewhere since `revision`",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn save_draft(
    call: Call,
    Path(slug): Path<String>,
    Body(changes): Body<DraftChanges>,
) -> Reply<DraftSaved> {
    Ok(Json(
        authoring::save_draft(&call.services, &call.actor, &slug, changes).await?,
    ))
}
