//! `/api/v1/teams/...` and `/api/v1/invites/{token}/accept`: teams, their
//! members, invites and audit log. Decisions are the service's; this file
//! only translates HTTP.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use service::{ServiceError, teams};
use types::account::{
    AuditPage, ChangeRole, CreateInvite, CreateTeam, CreatedInvite, InviteInfo, TeamDetail,
    WorkspaceSummary,
};
use types::{InviteId, UserId};

use crate::api::body::Body;
use crate::api::extract::QueryOf;
use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

fn member_id(text: &str) -> Result<UserId, AppError> {
    text.parse()
        .map(UserId)
        .map_err(|_| ServiceError::NotFound { what: "member" }.into())
}

pub async fn list(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
) -> Result<Json<Vec<WorkspaceSummary>>, AppError> {
    Ok(Json(teams::list(&state.services, &caller.actor).await?))
}

pub async fn create(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Body(request): Body<CreateTeam>,
) -> Result<(StatusCode, Json<WorkspaceSummary>), AppError> {
    let team = teams::create(&state.services, &caller.actor, request, &caller.meta).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

pub async fn show(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<Json<TeamDetail>, AppError> {
    Ok(Json(
        teams::show(&state.services, &caller.actor, &slug).await?,
    ))
}

pub async fn invites(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<Json<Vec<InviteInfo>>, AppError> {
    Ok(Json(
        teams::invites(&state.services, &caller.actor, &slug).await?,
    ))
}

pub async fn invite(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(request): Body<CreateInvite>,
) -> Result<(StatusCode, Json<CreatedInvite>), AppError> {
    let created =
        teams::invite(&state.services, &caller.actor, &slug, request, &caller.meta).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let id: InviteId = id
        .parse()
        .map_err(|_| AppError::from(ServiceError::NotFound { what: "invite" }))?;
    teams::revoke_invite(&state.services, &caller.actor, &slug, id, &caller.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn accept_invite(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(token): Path<String>,
) -> Result<Json<WorkspaceSummary>, AppError> {
    Ok(Json(
        teams::accept_invite(&state.services, &caller.actor, &token, &caller.meta).await?,
    ))
}

pub async fn change_role(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path((slug, member)): Path<(String, String)>,
    Body(request): Body<ChangeRole>,
) -> Result<StatusCode, AppError> {
    let member = member_id(&member)?;
    teams::change_member(
        &state.services,
        &caller.actor,
        &slug,
        member,
        Some(request.role),
        &caller.meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path((slug, member)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let member = member_id(&member)?;
    teams::change_member(
        &state.services,
        &caller.actor,
        &slug,
        member,
        None,
        &caller.meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn leave(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
) -> Result<StatusCode, AppError> {
    let me = caller.actor.require_session()?;
    teams::change_member(
        &state.services,
        &caller.actor,
        &slug,
        me,
        None,
        &caller.meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AuditParams {
    action: Option<String>,
    actor: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl AuditParams {
    fn limit(&self) -> Result<Option<i64>, AppError> {
        self.limit
            .as_deref()
            .map(|text| {
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::invalid("limit", "must be a whole number from 1 to 200"))
            })
            .transpose()
    }
}

/// `GET /api/v1/teams/{slug}/audit`: a team's audit log.
pub async fn audit(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    QueryOf(params): QueryOf<AuditParams>,
) -> Result<Json<AuditPage>, AppError> {
    let limit = params.limit()?;
    Ok(Json(
        teams::audit_log(
            &state.services,
            &caller.actor,
            &slug,
            params.action,
            params.actor,
            limit,
            params.cursor,
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct WorkspaceAuditParams {
    workspace: Option<String>,
    #[serde(flatten)]
    page: AuditParams,
}

/// `GET /api/v1/audit?workspace=`: any workspace's audit log, personal
/// ones included (the caller's own when none is named).
pub async fn workspace_audit(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    QueryOf(params): QueryOf<WorkspaceAuditParams>,
) -> Result<Json<AuditPage>, AppError> {
    let limit = params.page.limit()?;
    Ok(Json(
        teams::workspace_audit_log(
            &state.services,
            &caller.actor,
            params.workspace.as_deref(),
            params.page.action,
            params.page.actor,
            limit,
            params.page.cursor,
        )
        .await?,
    ))
}
