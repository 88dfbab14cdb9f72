//! `/api/v1/teams/...` and `/api/v1/invites/{token}/accept`: teams, their
//! members, invites and audit log. Decisions are the service's; this file
//! only translates HTTP.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use service::{ServiceError, teams};
use types::account::{
    AuditPage, ChangeRole, CreateInvite, CreateTeam, CreatedInvite, InviteInfo, TeamDetail,
    WorkspaceSummary,
};
use types::{InviteId, UserId};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, QueryOf, Reply, created};
use crate::error::AppError;

fn member_id(text: &str) -> Result<UserId, AppError> {
    text.parse()
        .map(UserId)
        .map_err(|_| ServiceError::NotFound { what: "member" }.into())
}

pub async fn list(call: Call) -> Reply<Vec<WorkspaceSummary>> {
    Ok(Json(teams::list(&call.services, &call.actor).await?))
}

pub async fn create(call: Call, Body(request): Body<CreateTeam>) -> Answer<WorkspaceSummary> {
    created(teams::create(&call.services, &call.actor, request, &call.meta).await?)
}

pub async fn show(call: Call, Path(slug): Path<String>) -> Reply<TeamDetail> {
    Ok(Json(teams::show(&call.services, &call.actor, &slug).await?))
}

pub async fn invites(call: Call, Path(slug): Path<String>) -> Reply<Vec<InviteInfo>> {
    Ok(Json(
        teams::invites(&call.services, &call.actor, &slug).await?,
    ))
}

pub async fn invite(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<CreateInvite>,
) -> Answer<CreatedInvite> {
    created(teams::invite(&call.services, &call.actor, &slug, request, &call.meta).await?)
}

pub async fn revoke_invite(
    call: Call,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let id: InviteId = id
        .parse()
        .map_err(|_| AppError::from(ServiceError::NotFound { what: "invite" }))?;
    teams::revoke_invite(&call.services, &call.actor, &slug, id, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn accept_invite(call: Call, Path(token): Path<String>) -> Reply<WorkspaceSummary> {
    Ok(Json(
        teams::accept_invite(&call.services, &call.actor, &token, &call.meta).await?,
    ))
}

pub async fn change_role(
    call: Call,
    Path((slug, member)): Path<(String, String)>,
    Body(request): Body<ChangeRole>,
) -> Result<StatusCode, AppError> {
    let member = member_id(&member)?;
    teams::change_member(
        &call.services,
        &call.actor,
        &slug,
        member,
        Some(request.role),
        &call.meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    call: Call,
    Path((slug, member)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let member = member_id(&member)?;
    teams::change_member(&call.services, &call.actor, &slug, member, None, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn leave(call: Call, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    let me = call.actor.require_session()?;
    teams::change_member(&call.services, &call.actor, &slug, me, None, &call.meta).await?;
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
    call: Call,
    Path(slug): Path<String>,
    QueryOf(params): QueryOf<AuditParams>,
) -> Reply<AuditPage> {
    let limit = params.limit()?;
    Ok(Json(
        teams::audit_log(
            &call.services,
            &call.actor,
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
    call: Call,
    QueryOf(params): QueryOf<WorkspaceAuditParams>,
) -> Reply<AuditPage> {
    let limit = params.page.limit()?;
    Ok(Json(
        teams::workspace_audit_log(
            &call.services,
            &call.actor,
            params.workspace.as_deref(),
            params.page.action,
            params.page.actor,
            limit,
            params.page.cursor,
        )
        .await?,
    ))
}
