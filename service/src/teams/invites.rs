//! Invitations: single-use links with a role and an expiry, listed and
//! revoked by admins, accepted by the invited person.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::{self, Entry, action};
use crate::auth::tokens;
use crate::schema::{users, workspace_invites, workspace_members, workspaces};
use crate::{ServiceError, Services};
use types::account::{CreateInvite, CreatedInvite, InviteInfo, Role, WorkspaceSummary};
use types::{InviteId, UserId, WorkspaceId};

use super::members::may_manage;
use super::require_team_role;
use super::team;

pub(super) const INVITE_LIFETIME: TimeDelta = TimeDelta::days(7);
pub(super) const INVITE_TOKEN_BYTES: usize = 32;
/// Invites `email` with `role`. Admins and owners may invite admins,
/// members and viewers; nobody invites owners (ownership is given to a
/// member, not sent).
pub async fn invite(
    services: &Services,
    actor: &Actor,
    slug: &str,
    request: CreateInvite,
    meta: &RequestMeta,
) -> Result<CreatedInvite, ServiceError> {
    let inviter = actor.require_session()?;
    let email = crate::auth::accounts::normalize_email(&request.email)?;
    if request.role == Role::Owner {
        return Err(ServiceError::invalid(
            "role",
            "invite as admin, member or viewer; make someone owner once they have joined",
        ));
    }
    let mut conn = services.conn().await?;
    let (team, role) = team(&mut conn, actor, slug).await?;
    if !may_manage(role, Role::Viewer, Some(request.role)) {
        return Err(ServiceError::Forbidden(format!(
            "a {} cannot invite a {}",
            role.as_str(),
            request.role.as_str()
        )));
    }
    let token = tokens::random(INVITE_TOKEN_BYTES)?;
    let link = format!("{}/invites/{token}", services.public_url);
    let expires_at = Utc::now() + INVITE_LIFETIME;
    let actor = actor.clone();
    let meta = meta.clone();
    let invite_role = request.role;
    let digest = tokens::digest(&token);
    let invite = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let (id, created_at): (InviteId, DateTime<Utc>) =
                diesel::insert_into(workspace_invites::table)
                    .values((
                        workspace_invites::workspace_id.eq(team.id.0),
                        workspace_invites::email.eq(&email),
                        workspace_invites::role.eq(invite_role.as_str()),
                        workspace_invites::token_hash.eq(&digest),
                        workspace_invites::invited_by.eq(inviter.0),
                        workspace_invites::expires_at.eq(expires_at),
                    ))
                    .returning((workspace_invites::id, workspace_invites::created_at))
                    .get_result(conn)
                    .await?;
            audit::record(
                conn,
                Entry {
                    action: action::MEMBER_INVITED,
                    user: None,
                    actor: &actor,
                    workspace: Some(team.id),
                    target_type: "invite",
                    target_id: id.to_string(),
                    meta: &meta,
                    details: json!({ "email": email, "role": invite_role.as_str() }),
                },
            )
            .await?;
            Ok(InviteInfo {
                id,
                email,
                role: invite_role,
                invited_by: inviter,
                created_at,
                expires_at,
            })
        })
        .await?;
    Ok(CreatedInvite { invite, link })
}

/// Pending invites; admins and owners may look.
pub async fn invites(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<Vec<InviteInfo>, ServiceError> {
    actor.require_session()?;
    let mut conn = services.conn().await?;
    let team = require_team_role(&mut conn, actor, slug, Role::Admin).await?;
    type InviteRow = (InviteId, String, String, Uuid, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<InviteRow> = workspace_invites::table
        .filter(workspace_invites::workspace_id.eq(team.id.0))
        .filter(workspace_invites::accepted_at.is_null())
        .filter(workspace_invites::revoked_at.is_null())
        .filter(workspace_invites::expires_at.gt(Utc::now()))
        .order(workspace_invites::created_at.desc())
        .select((
            workspace_invites::id,
            workspace_invites::email,
            workspace_invites::role,
            workspace_invites::invited_by,
            workspace_invites::created_at,
            workspace_invites::expires_at,
        ))
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, email, role, invited_by, created_at, expires_at)| {
            Some(InviteInfo {
                id,
                email,
                role: Role::parse(&role)?,
                invited_by: UserId(invited_by),
                created_at,
                expires_at,
            })
        })
        .collect())
}

pub async fn revoke_invite(
    services: &Services,
    actor: &Actor,
    slug: &str,
    invite: InviteId,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    actor.require_session()?;
    let mut conn = services.conn().await?;
    let team = require_team_role(&mut conn, actor, slug, Role::Admin).await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let revoked = diesel::update(workspace_invites::table.find(invite))
            .filter(workspace_invites::workspace_id.eq(team.id.0))
            .filter(workspace_invites::accepted_at.is_null())
            .filter(workspace_invites::revoked_at.is_null())
            .set(workspace_invites::revoked_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        if revoked == 0 {
            return Err(ServiceError::NotFound { what: "invite" });
        }
        audit::record(
            conn,
            Entry {
                action: action::INVITE_REVOKED,
                user: None,
                actor: &actor,
                workspace: Some(team.id),
                target_type: "invite",
                target_id: invite.to_string(),
                meta: &meta,
                details: json!({}),
            },
        )
        .await
    })
    .await
}

/// Joins the team an invite link names. The link works once, until it
/// expires, and only for the account with the invited address.
pub async fn accept_invite(
    services: &Services,
    actor: &Actor,
    token: &str,
    meta: &RequestMeta,
) -> Result<WorkspaceSummary, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    crate::auth::recovery::require_verified(&mut conn, user).await?;
    let digest = tokens::digest(token);
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let gone = || ServiceError::NotFound {
            what: "invite (it may have been used, revoked or have expired)",
        };
        // Single use: the row is claimed atomically, or not at all.
        let claimed: Option<(Uuid, Uuid, String, String)> =
            diesel::update(workspace_invites::table)
                .filter(workspace_invites::token_hash.eq(&digest))
                .filter(workspace_invites::accepted_at.is_null())
                .filter(workspace_invites::revoked_at.is_null())
                .filter(workspace_invites::expires_at.gt(Utc::now()))
                .set((
                    workspace_invites::accepted_at.eq(Utc::now()),
                    workspace_invites::accepted_by.eq(user.0),
                ))
                .returning((
                    workspace_invites::id,
                    workspace_invites::workspace_id,
                    workspace_invites::email,
                    workspace_invites::role,
                ))
                .get_result(conn)
                .await
                .optional()?;
        let (invite, workspace, email, role) = claimed.ok_or_else(gone)?;
        let role = Role::parse(&role).ok_or_else(gone)?;
        let own_email: Option<String> = users::table
            .find(user.0)
            .select(users::email)
            .first(conn)
            .await?;
        if own_email.as_deref().map(str::to_lowercase).as_deref() != Some(email.as_str()) {
            return Err(ServiceError::Forbidden(
                "this invite was sent to another email address; sign in with that account"
                    .to_owned(),
            ));
        }
        let joined = diesel::insert_into(workspace_members::table)
            .values((
                workspace_members::workspace_id.eq(workspace),
                workspace_members::user_id.eq(user.0),
                workspace_members::role.eq(role.as_str()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if joined == 0 {
            return Err(ServiceError::Conflict {
                field: "invite",
                message: "you are already a member of this team".into(),
            });
        }
        audit::record(
            conn,
            Entry {
                action: action::MEMBER_JOINED,
                user: None,
                actor: &actor,
                workspace: Some(WorkspaceId(workspace)),
                target_type: "user",
                target_id: user.to_string(),
                meta: &meta,
                details: json!({ "invite": invite, "role": role.as_str() }),
            },
        )
        .await?;
        let (slug, name): (String, String) = workspaces::table
            .find(workspace)
            .select((workspaces::slug, workspaces::name))
            .first(conn)
            .await?;
        Ok(WorkspaceSummary {
            id: WorkspaceId(workspace),
            slug,
            name,
            personal: false,
            role,
        })
    })
    .await
}
