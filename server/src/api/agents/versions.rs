//! `GET|POST /api/v1/agents/{slug}/versions` and
//! `GET /api/v1/agents/{slug}/versions/{version}`: publishing the draft as an
//! immutable version, and reading any version later.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use service::{Services, agents, authoring};
use types::VersionSummary;
use types::market::{PublishRequest, VersionDetail};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn list_versions(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<Json<Vec<VersionSummary>>, AppError> {
    Ok(Json(
        agents::by_slug(&services, &caller.actor, &slug)
            .await?
            .versions,
    ))
}

pub async fn publish_version(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(request): Body<PublishRequest>,
) -> Result<(StatusCode, Json<VersionSummary>), AppError> {
    let version =
        authoring::publish(&services, &caller.actor, &slug, request, &caller.meta).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

pub async fn show_version(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path((slug, version)): Path<(String, String)>,
) -> Result<Json<VersionDetail>, AppError> {
    Ok(Json(
        authoring::version(&services, &caller.actor, &slug, &version).await?,
    ))
}
