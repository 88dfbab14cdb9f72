//! `GET|POST /api/v1/agents/{slug}/versions` and
//! `GET /api/v1/agents/{slug}/versions/{version}`: publishing the draft as an
//! immutable version, and reading any version later.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use service::{agents, authoring};
use types::VersionSummary;
use types::market::{PublishRequest, VersionDetail};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};
use crate::error::AppError;

pub async fn list_versions(call: Call, Path(slug): Path<String>) -> Reply<Vec<VersionSummary>> {
    Ok(Json(
        agents::by_slug(&call.services, &call.actor, &slug)
            .await?
            .versions,
    ))
}

pub async fn publish_version(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<PublishRequest>,
) -> Result<(StatusCode, Json<VersionSummary>), AppError> {
    let version =
        authoring::publish(&call.services, &call.actor, &slug, request, &call.meta).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

pub async fn show_version(
    call: Call,
    Path((slug, version)): Path<(String, String)>,
) -> Reply<VersionDetail> {
    Ok(Json(
        authoring::version(&call.services, &call.actor, &slug, &version).await?,
    ))
}
