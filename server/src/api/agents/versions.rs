//! `GET|POST /api/v1/agents/{slug}/versions` and
//! `GET /api/v1/agents/{slug}/versions/{version}`: publishing the draft as an
//! immutable version, and reading any version later.

use axum::Json;
use axum::extract::Path;
use service::{agents, authoring};
use types::VersionSummary;
use types::market::{PublishRequest, VersionDetail};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, Reply, created};

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
) -> Answer<VersionSummary> {
    created(authoring::publish(&call.services, &call.actor, &slug, request, &call.meta).await?)
}

pub async fn show_version(
    call: Call,
    Path((slug, version)): Path<(String, String)>,
) -> Reply<VersionDetail> {
    Ok(Json(
        authoring::version(&call.services, &call.actor, &slug, &version).await?,
    ))
}
