//! Teams: creating and reading them, their members, invites and audit log.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::account::{
    self, AuditPage, CreatedInvite, InviteInfo, Role, TeamDetail, WorkspaceSummary,
};
use types::error::ApiError;
use types::{InviteId, UserId};

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, failed, meta, services};
#[cfg(feature = "ssr")]
use service::teams;

/// The caller's workspaces, personal and teams.
#[server(prefix = "/api/fn", endpoint = "list_teams", input = GetUrl, client = CsrfClient)]
pub async fn list_teams() -> Result<Vec<WorkspaceSummary>, ApiError> {
    answer(teams::list(&services()?, &actor())).await
}

/// A new team (201) with the caller as its owner.
#[server(prefix = "/api/fn", endpoint = "create_team", input = Json, client = CsrfClient)]
pub async fn create_team(request: account::CreateTeam) -> Result<WorkspaceSummary, ApiError> {
    answer_with(201, teams::create(&services()?, &actor(), request, &meta())).await
}

#[server(prefix = "/api/fn", endpoint = "get_team", input = GetUrl, client = CsrfClient)]
pub async fn get_team(slug: String) -> Result<TeamDetail, ApiError> {
    answer(teams::show(&services()?, &actor(), &slug)).await
}

/// Gives `member` the role `role`; audited.
#[server(prefix = "/api/fn", endpoint = "change_member_role", input = Json, client = CsrfClient)]
pub async fn change_member_role(slug: String, member: UserId, role: Role) -> Result<(), ApiError> {
    change(slug, member, Some(role)).await
}

/// Removes `member` from the team; audited. (A function of its own: a role
/// change with the role left out must never read as "remove".)
#[server(prefix = "/api/fn", endpoint = "remove_member", input = Json, client = CsrfClient)]
pub async fn remove_member(slug: String, member: UserId) -> Result<(), ApiError> {
    change(slug, member, None).await
}

#[cfg(feature = "ssr")]
async fn change(slug: String, member: UserId, to: Option<Role>) -> Result<(), ApiError> {
    answer(teams::change_member(
        &services()?,
        &actor(),
        &slug,
        member,
        to,
        &meta(),
    ))
    .await
}

/// The caller leaves the team (a browser session only).
#[server(prefix = "/api/fn", endpoint = "leave_team", input = Json, client = CsrfClient)]
pub async fn leave_team(slug: String) -> Result<(), ApiError> {
    let actor = actor();
    let me = actor.require_session().map_err(failed)?;
    answer(teams::change_member(
        &services()?,
        &actor,
        &slug,
        me,
        None,
        &meta(),
    ))
    .await
}

#[server(prefix = "/api/fn", endpoint = "list_invites", input = GetUrl, client = CsrfClient)]
pub async fn list_invites(slug: String) -> Result<Vec<InviteInfo>, ApiError> {
    answer(teams::invites(&services()?, &actor(), &slug)).await
}

/// A new invite (201), its link shown this once.
#[server(prefix = "/api/fn", endpoint = "create_invite", input = Json, client = CsrfClient)]
pub async fn create_invite(
    slug: String,
    request: account::CreateInvite,
) -> Result<CreatedInvite, ApiError> {
    answer_with(
        201,
        teams::invite(&services()?, &actor(), &slug, request, &meta()),
    )
    .await
}

#[server(prefix = "/api/fn", endpoint = "revoke_invite", input = Json, client = CsrfClient)]
pub async fn revoke_invite(slug: String, id: InviteId) -> Result<(), ApiError> {
    answer(teams::revoke_invite(
        &services()?,
        &actor(),
        &slug,
        id,
        &meta(),
    ))
    .await
}

/// Joins the team an invite link is for.
#[server(prefix = "/api/fn", endpoint = "accept_invite", input = Json, client = CsrfClient)]
pub async fn accept_invite(token: String) -> Result<WorkspaceSummary, ApiError> {
    answer(teams::accept_invite(
        &services()?,
        &actor(),
        &token,
        &meta(),
    ))
    .await
}

/// A page of the team's audit log, newest first, filtered by action and
/// by the acting user's handle.
#[server(prefix = "/api/fn", endpoint = "team_audit_log", input = GetUrl, client = CsrfClient)]
pub async fn team_audit_log(
    slug: String,
    action: Option<String>,
    by: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<AuditPage, ApiError> {
    answer(teams::audit_log(
        &services()?,
        &actor(),
        &slug,
        action,
        by,
        limit,
        cursor,
    ))
    .await
}
