//! `GET /api/v1/deployments/{id}/runs?status=`: the newest 100.

use axum::Json;
use serde::{Deserialize, Serialize};
use service::runs;
use types::deploy::RunSummary;

use crate::api::extract::{Call, PathId, QueryOf, Reply};
use types::DeploymentId;

/// Which runs to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// Only the runs of this status.
    #[param(value_type = Option<types::deploy::RunStatus>)]
    status: Option<String>,
}

/// A list of runs (also the dashboard's feed).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunList {
    /// Newest first.
    pub items: Vec<RunSummary>,
}

/// List a deployment's runs
///
/// The deployment's newest 100 runs, newest first, optionally of one status.
/// For members of its workspace.
#[utoipa::path(
    get,
    path = "/deployments/{id}/runs",
    tag = "runs",
    operation_id = "list_deployment_runs",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id"), Filters),
    responses((status = 200, description = "The deployment's newest runs", body = RunList)),
    security(("bearer" = ["runs:read"]))
)]
pub async fn list_runs(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    QueryOf(filters): QueryOf<Filters>,
) -> Reply<RunList> {
    let items = runs::list(&call.services, &call.actor, id.0, filters.status.as_deref()).await?;
    Ok(Json(RunList { items }))
}
