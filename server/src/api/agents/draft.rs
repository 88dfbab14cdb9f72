//! `GET|PUT /api/v1/agents/{slug}/draft`: the editor's working copy. A PUT
//! carries the revision it is based on and is refused (409) if another save
//! came first.

use axum::Json;
use axum::extract::Path;
use service::authoring;
use types::market::{Draft, DraftChanges, DraftSaved};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

pub async fn show_draft(call: Call, Path(slug): Path<String>) -> Reply<Draft> {
    Ok(Json(
        authoring::draft(&call.services, &call.actor, &slug).await?,
    ))
}

pub async fn save_draft(
    call: Call,
    Path(slug): Path<String>,
    Body(changes): Body<DraftChanges>,
) -> Reply<DraftSaved> {
    Ok(Json(
        authoring::save_draft(&call.services, &call.actor, &slug, changes).await?,
    ))
}
