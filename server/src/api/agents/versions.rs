//! `GET|POST /api/v1/agents/{slug}/versions` and
//! `GET /api/v1/agents/{slug}/versions/{version}`: publishing the draft as an
//! immutable version, and reading any version later.

use axum::Json;
use axum::extract::Path;
use service::{agents, authoring};
use types::VersionSummary;
use types::error::ErrorEnvelope;
use types::market::{PublishRequest, VersionDetail};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, Reply, created};

/// List an agent's versions
///
/// The published versions of an agent the caller may see, newest first.
#[utoipa::path(
    get,
    path = "/agents/{slug}/versions",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug")),
    responses(
        (status = 200, description = "The versions, newest first", body = Vec<VersionSummary>),
    ),
    security((), ("bearer" = ["agents:read"]))
)]
pub async fn list_versions(call: Call, Path(slug): Path<String>) -> Reply<Vec<VersionSummary>> {
    Ok(Json(
        agents::by_slug(&call.services, &call.actor, &slug)
            .await?
            .versions,
    ))
}

/// Publish a version
///
/// Publishes the saved draft as a new immutable version, above every earlier
/// one; the listing takes the draft's values. For members of the agent's
/// workspace with a verified email address.
#[utoipa::path(
    post,
    path = "/agents/{slug}/versions",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = PublishRequest,
    responses(
        (status = 201, description = "The version, published", body = VersionSummary),
        (status = 409, description = "The version is not above the latest one, or the draft \
            changed since `revision`", body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn publish_version(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<PublishRequest>,
) -> Answer<VersionSummary> {
    created(authoring::publish(&call.services, &call.actor, &slug, request, &call.meta).await?)
}

/// Show a version
///
/// One published version of an agent the caller may see, in full; a paid
/// agent's source only where the caller may read it.
#[utoipa::path(
    get,
    path = "/agents/{slug}/versions/{version}",
    tag = "agents",
    params(
        ("slug" = String, Path, description = "The agent's slug"),
        ("version" = String, Path, description = "The version, `MAJOR.MINOR.PATCH`"),
    ),
    responses((status = 200, description = "The version", body = VersionDetail)),
    security((), ("bearer" = ["agents:read"]))
)]
pub async fn show_version(
    call: Call,
    Path((slug, version)): Path<(String, String)>,
) -> Reply<VersionDetail> {
    Ok(Json(
        authoring::version(&call.services, &call.actor, &slug, &version).await?,
    ))
}
