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
use types::error::ErrorEnvelope;
use types::{InviteId, UserId};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, QueryOf, Reply, created};
use crate::error::AppError;

fn member_id(text: &str) -> Result<UserId, AppError> {
    text.parse()
        .map(UserId)
        .map_err(|_| ServiceError::NotFound { what: "member" }.into())
}

/// List my teams
///
/// The teams the signed-in user belongs to, with their role in each. For
/// sessions only.
#[utoipa::path(
    get,
    path = "/teams",
    tag = "teams",
    operation_id = "list_teams",
    responses((status = 200, description = "The caller's teams", body = Vec<WorkspaceSummary>)),
    security(("session" = []))
)]
pub async fn list(call: Call) -> Reply<Vec<WorkspaceSummary>> {
    Ok(Json(teams::list(&call.services, &call.actor).await?))
}

/// Create a team
///
/// Makes a team with the signed-in user as its owner. For sessions only.
#[utoipa::path(
    post,
    path = "/teams",
    tag = "teams",
    operation_id = "create_team",
    request_body = CreateTeam,
    responses(
        (status = 201, description = "The team, made", body = WorkspaceSummary),
        (status = 409, description = "The slug is taken, or the caller is in as many teams as \
            allowed", body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn create(call: Call, Body(request): Body<CreateTeam>) -> Answer<WorkspaceSummary> {
    created(teams::create(&call.services, &call.actor, request, &call.meta).await?)
}

/// Show a team
///
/// A team and its members; any member may look. For sessions only.
#[utoipa::path(
    get,
    path = "/teams/{slug}",
    tag = "teams",
    operation_id = "show_team",
    params(("slug" = String, Path, description = "The team's slug")),
    responses((status = 200, description = "The team and its members", body = TeamDetail)),
    security(("session" = []))
)]
pub async fn show(call: Call, Path(slug): Path<String>) -> Reply<TeamDetail> {
    Ok(Json(teams::show(&call.services, &call.actor, &slug).await?))
}

/// List a team's invites
///
/// The team's pending invites; for its admins and owners, in a session.
#[utoipa::path(
    get,
    path = "/teams/{slug}/invites",
    tag = "teams",
    operation_id = "list_team_invites",
    params(("slug" = String, Path, description = "The team's slug")),
    responses((status = 200, description = "The pending invites", body = Vec<InviteInfo>)),
    security(("session" = []))
)]
pub async fn invites(call: Call, Path(slug): Path<String>) -> Reply<Vec<InviteInfo>> {
    Ok(Json(
        teams::invites(&call.services, &call.actor, &slug).await?,
    ))
}

/// Invite to a team
///
/// Invites an email address into the team with a role (admin, member or
/// viewer); answers the invite and its link, shown this once. For the team's
/// admins and owners, in a session.
#[utoipa::path(
    post,
    path = "/teams/{slug}/invites",
    tag = "teams",
    operation_id = "create_team_invite",
    params(("slug" = String, Path, description = "The team's slug")),
    request_body = CreateInvite,
    responses((status = 201, description = "The invite, with its link", body = CreatedInvite)),
    security(("session" = []))
)]
pub async fn invite(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<CreateInvite>,
) -> Answer<CreatedInvite> {
    created(teams::invite(&call.services, &call.actor, &slug, request, &call.meta).await?)
}

/// Revoke an invite
///
/// Revokes a team's pending invite; its link stops working. For the team's
/// admins and owners, in a session.
#[utoipa::path(
    delete,
    path = "/teams/{slug}/invites/{id}",
    tag = "teams",
    operation_id = "revoke_team_invite",
    params(
        ("slug" = String, Path, description = "The team's slug"),
        ("id" = uuid::Uuid, Path, description = "The invite's id"),
    ),
    responses((status = 204, description = "The invite is revoked")),
    security(("session" = []))
)]
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

/// Accept an invite
///
/// Joins the team an invite link names. The link works once, until it
/// expires, and only for the account with the invited address (verified).
/// For sessions only.
#[utoipa::path(
    post,
    path = "/invites/{token}/accept",
    tag = "teams",
    operation_id = "accept_team_invite",
    params(("token" = String, Path, description = "The invite link's token")),
    responses(
        (status = 200, description = "The team joined", body = WorkspaceSummary),
        (status = 409, description = "The caller is a member of the team already",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn accept_invite(call: Call, Path(token): Path<String>) -> Reply<WorkspaceSummary> {
    Ok(Json(
        teams::accept_invite(&call.services, &call.actor, &token, &call.meta).await?,
    ))
}

/// Change a member's role
///
/// Gives a team member another role, within what the caller's own role
/// allows; a team keeps at least one owner. In a session.
#[utoipa::path(
    patch,
    path = "/teams/{slug}/members/{user}",
    tag = "teams",
    operation_id = "change_team_member_role",
    params(
        ("slug" = String, Path, description = "The team's slug"),
        ("user" = uuid::Uuid, Path, description = "The member's user id"),
    ),
    request_body = ChangeRole,
    responses(
        (status = 204, description = "The role is changed"),
        (status = 409, description = "The member is the team's last owner", body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
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

/// Remove a member
///
/// Removes a member from the team, within what the caller's own role allows;
/// a team keeps at least one owner. In a session.
#[utoipa::path(
    delete,
    path = "/teams/{slug}/members/{user}",
    tag = "teams",
    operation_id = "remove_team_member",
    params(
        ("slug" = String, Path, description = "The team's slug"),
        ("user" = uuid::Uuid, Path, description = "The member's user id"),
    ),
    responses(
        (status = 204, description = "The member is removed"),
        (status = 409, description = "The member is the team's last owner", body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn remove_member(
    call: Call,
    Path((slug, member)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let member = member_id(&member)?;
    teams::change_member(&call.services, &call.actor, &slug, member, None, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a team
///
/// The signed-in user leaves the team; its last owner cannot. In a session.
#[utoipa::path(
    post,
    path = "/teams/{slug}/leave",
    tag = "teams",
    operation_id = "leave_team",
    params(("slug" = String, Path, description = "The team's slug")),
    responses(
        (status = 204, description = "The caller has left the team"),
        (status = 409, description = "The caller is the team's last owner", body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn leave(call: Call, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    let me = call.actor.require_session()?;
    teams::change_member(&call.services, &call.actor, &slug, me, None, &call.meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// An action (`member.invite`), or every action of an object (`member.`).
    action: Option<String>,
    /// The handle of the user who acted.
    actor: Option<String>,
    /// Events per page, 1 to 200 (50 unless given).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
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

/// Read a team's audit log
///
/// What was done in the team, newest first, one page at a time, filtered by
/// action and actor. For the team's admins and owners.
#[utoipa::path(
    get,
    path = "/teams/{slug}/audit",
    tag = "teams",
    operation_id = "list_team_audit_events",
    params(("slug" = String, Path, description = "The team's slug"), AuditParams),
    responses((status = 200, description = "One page of audit events", body = AuditPage)),
    security(("bearer" = ["audit:read"]))
)]
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

/// Read a workspace's audit log
///
/// Any workspace's audit log, personal ones included (the caller's own when
/// none is named: a key's workspace, else the personal one), credit
/// movements too. For the workspace's admins and owners.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "teams",
    operation_id = "list_workspace_audit_events",
    params(
        ("workspace" = Option<String>, Query, description = "The workspace's slug; the \
            caller's own unless given"),
        AuditParams,
    ),
    responses(
        (status = 200, description = "One page of audit events", body = AuditPage),
        (status = 404, description = "No such workspace, or not the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = ["audit:read"]))
)]
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
