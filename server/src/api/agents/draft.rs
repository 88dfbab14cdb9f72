//! `GET|PUT /api/v1/agents/{slug}/draft`: the editor's working copy. A PUT
//! carries the revision it is based on and is refused (409) if another save
//! came first.

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, authoring};
use types::market::{Draft, DraftChanges, DraftSaved};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn show_draft(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<Json<Draft>, AppError> {
    Ok(Json(
        authoring::draft(&services, &caller.actor, &slug).await?,
    ))
}

pub async fn save_draft(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(changes): Body<DraftChanges>,
) -> Result<Json<DraftSaved>, AppError> {
    Ok(Json(
        authoring::save_draft(&services, &caller.actor, &slug, changes).await?,
    ))
}
