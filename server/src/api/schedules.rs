//! `/api/v1/deployments/{id}/schedules`: a deployment's schedules, and
//! `POST /api/v1/schedules/preview`: when an expression would fire.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Serialize;
use service::{ServiceError, schedules};
use types::DeploymentId;
use types::triggers::{
    NewSchedule, Schedule, ScheduleChange, SchedulePreview, SchedulePreviewRequest,
};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use crate::error::AppError;

/// A deployment's schedules.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleList {
    /// Oldest first, at most 20.
    items: Vec<Schedule>,
}

fn ids(deployment: &str, schedule: &str) -> Result<(uuid::Uuid, uuid::Uuid), ServiceError> {
    let deployment = deployment
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "deployment" })?;
    let schedule = schedule
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "schedule" })?;
    Ok((deployment, schedule))
}

/// List a deployment's schedules
///
/// Each with its next five slots and what its last slot did. For anyone who
/// may see the deployment.
#[utoipa::path(
    get,
    path = "/deployments/{id}/schedules",
    tag = "triggers",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses((status = 200, description = "The deployment's schedules", body = ScheduleList)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn list_schedules(call: Call, PathId(id): PathId<DeploymentId>) -> Reply<ScheduleList> {
    let items = schedules::list(&call.services, &call.actor, id.0).await?;
    Ok(Json(ScheduleList { items }))
}

/// Add a schedule
///
/// A cron expression (five fields, read in `time_zone`, UTC if left out)
/// or `every_seconds` (60 to 2,678,400, counted from the Unix epoch). Each
/// slot starts one run (`trigger = schedule`) with `input`, as the member
/// who made the schedule, under the deployment's limits and spend cap. At
/// most 20 per deployment. For members and up.
#[utoipa::path(
    post,
    path = "/deployments/{id}/schedules",
    tag = "triggers",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body = NewSchedule,
    responses(
        (status = 201, description = "The schedule, with its next five slots", body = Schedule),
        (status = 409, description = "The deployment has 20 schedules already",
            body = types::error::ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn create_schedule(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(new): Body<NewSchedule>,
) -> Answer<Schedule> {
    created(schedules::create(&call.services, &call.actor, &call.meta, id.0, new).await?)
}

/// Change a schedule
///
/// The fields given replace the old ones; a new timing, or turning it on,
/// starts from the next slot after now. For members and up.
#[utoipa::path(
    patch,
    path = "/deployments/{id}/schedules/{schedule}",
    tag = "triggers",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("schedule" = uuid::Uuid, Path, description = "The schedule's id"),
    ),
    request_body = ScheduleChange,
    responses((status = 200, description = "The schedule as changed", body = Schedule)),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn change_schedule(
    call: Call,
    Path((id, schedule)): Path<(String, String)>,
    Body(change): Body<ScheduleChange>,
) -> Reply<Schedule> {
    let (id, schedule) = ids(&id, &schedule)?;
    let changed = schedules::change(
        &call.services,
        &call.actor,
        &call.meta,
        id,
        schedule,
        change,
    )
    .await?;
    Ok(Json(changed))
}

/// Delete a schedule
///
/// It fires no more; the runs it started stay. For members and up.
#[utoipa::path(
    delete,
    path = "/deployments/{id}/schedules/{schedule}",
    tag = "triggers",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("schedule" = uuid::Uuid, Path, description = "The schedule's id"),
    ),
    responses((status = 204, description = "The schedule is deleted")),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn delete_schedule(
    call: Call,
    Path((id, schedule)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let (id, schedule) = ids(&id, &schedule)?;
    schedules::delete(&call.services, &call.actor, &call.meta, id, schedule).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Preview a timing
///
/// The next five slots of a cron expression in a time zone, or of an
/// interval, from now: what a schedule made with them would do. A bad
/// expression is a 422 naming the field and the part. For anyone signed in.
#[utoipa::path(
    post,
    path = "/schedules/preview",
    tag = "triggers",
    request_body = SchedulePreviewRequest,
    responses((status = 200, description = "The next five slots", body = SchedulePreview)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn preview_schedule(
    call: Call,
    Body(request): Body<SchedulePreviewRequest>,
) -> Reply<SchedulePreview> {
    Ok(Json(schedules::preview(
        &call.services,
        &call.actor,
        &request,
    )?))
}
