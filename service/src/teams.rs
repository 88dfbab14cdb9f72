//! Teams: workspaces with several members. Creating one, inviting by link,
//! joining, changing roles, removing, leaving, and the team's audit log.
//! Who may do what is decided in `access` and in `may_manage` below, and
//! nowhere else.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::actor::{Actor, RequestMeta};
use super::auth::audit::{self, Entry, action};
use super::auth::tokens;
use super::schema::{audit_events, users, workspace_invites, workspace_members, workspaces};
use super::{ServiceError, Services, access};
use types::account::{
    AuditEvent, AuditPage, CreateInvite, CreateTeam, CreatedInvite, InviteInfo, Member, Role,
    Scope, TeamDetail, WorkspaceSummary,
};
use types::{ApiKeyId, UserId, WorkspaceId};

const INVITE_LIFETIME: TimeDelta = TimeDelta::days(7);
const INVITE_TOKEN_BYTES: usize = 32;
const MAX_TEAMS_PER_USER: i64 = 50;

fn team_not_found() -> ServiceError {
    ServiceError::NotFound { what: "team" }
}

/// A URL name from a team name: lower-case letters, digits and dashes.
pub(crate) fn slug_from(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(39).collect();
    slug.trim_end_matches('-').to_owned()
}

fn valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 39
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// The team named `slug` and the caller's role in it; 404 for strangers and
/// for personal workspaces.
async fn team(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: &str,
) -> Result<(WorkspaceSummary, Role), ServiceError> {
    actor.require_user()?;
    let found: Option<(Uuid, String, String)> = workspaces::table
        .filter(workspaces::slug.eq(slug))
        .filter(workspaces::kind.eq("team"))
        .select((workspaces::id, workspaces::slug, workspaces::name))
        .first(conn)
        .await
        .optional()?;
    let (id, slug, name) = found.ok_or_else(team_not_found)?;
    let role = access::member(conn, actor, WorkspaceId(id))
        .await
        .map_err(|error| match error {
            ServiceError::NotFound { .. } => team_not_found(),
            other => other,
        })?;
    let summary = WorkspaceSummary {
        id: WorkspaceId(id),
        slug,
        name,
        personal: false,
        role,
    };
    Ok((summary, role))
}

async fn require_team_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: &str,
    least: Role,
) -> Result<WorkspaceSummary, ServiceError> {
    let (team, role) = team(conn, actor, slug).await?;
    if role < least {
        return Err(ServiceError::Forbidden(format!(
            "this needs the {} role in the team; you are {}",
            least.as_str(),
            role.as_str()
        )));
    }
    Ok(team)
}

/// Whether someone with `actor` role may change a member from `from` to `to`
/// (`None`: remove). Owners manage everyone; admins manage members and
/// viewers and may raise them to admin; nobody else manages anyone.
fn may_manage(actor: Role, from: Role, to: Option<Role>) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => from < Role::Admin && to.is_none_or(|to| to <= Role::Admin),
        Role::Member | Role::Viewer => false,
    }
}

async fn owner_count(conn: &mut AsyncPgConnection, team: WorkspaceId) -> Result<i64, ServiceError> {
    Ok(workspace_members::table
        .filter(workspace_members::workspace_id.eq(team.0))
        .filter(workspace_members::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
        .await?)
}

fn last_owner() -> ServiceError {
    ServiceError::Conflict {
        field: "role",
        message: "a team needs at least one owner; make someone else owner first".into(),
    }
}

/// Creates a team; the caller becomes its owner.
pub async fn create(
    services: &Services,
    actor: &Actor,
    request: CreateTeam,
    meta: &RequestMeta,
) -> Result<WorkspaceSummary, ServiceError> {
    let user = actor.require_session()?;
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "must be 1 to 80 characters"));
    }
    let slug = match request.slug {
        Some(slug) => slug.trim().to_owned(),
        None => slug_from(&name),
    };
    if !valid_slug(&slug) {
        return Err(ServiceError::invalid(
            "slug",
            "must be 1 to 39 lower-case letters, digits or inner dashes",
        ));
    }
    let mut conn = services.conn().await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let teams: i64 = workspace_members::table
            .inner_join(workspaces::table)
            .filter(workspace_members::user_id.eq(user.0))
            .filter(workspaces::kind.eq("team"))
            .count()
            .get_result(conn)
            .await?;
        if teams >= MAX_TEAMS_PER_USER {
            return Err(ServiceError::Conflict {
                field: "name",
                message: format!("you are in {MAX_TEAMS_PER_USER} teams already"),
            });
        }
        let handle_taken: bool = diesel::select(diesel::dsl::exists(
            users::table.filter(users::handle.eq(&slug)),
        ))
        .get_result(conn)
        .await?;
        let id: Option<Uuid> = if handle_taken {
            None
        } else {
            diesel::insert_into(workspaces::table)
                .values((
                    workspaces::kind.eq("team"),
                    workspaces::slug.eq(&slug),
                    workspaces::name.eq(&name),
                ))
                .on_conflict(workspaces::slug)
                .do_nothing()
                .returning(workspaces::id)
                .get_result(conn)
                .await
                .optional()?
        };
        let id = id.ok_or_else(|| ServiceError::Conflict {
            field: "slug",
            message: format!("{slug:?} is taken; choose another"),
        })?;
        diesel::insert_into(workspace_members::table)
            .values((
                workspace_members::workspace_id.eq(id),
                workspace_members::user_id.eq(user.0),
                workspace_members::role.eq(Role::Owner.as_str()),
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            Entry {
                action: action::TEAM_CREATED,
                user: None,
                actor: &actor,
                workspace: Some(WorkspaceId(id)),
                target_type: "team",
                target_id: id.to_string(),
                meta: &meta,
                details: json!({ "slug": slug, "name": name }),
            },
        )
        .await?;
        Ok(WorkspaceSummary {
            id: WorkspaceId(id),
            slug,
            name,
            personal: false,
            role: Role::Owner,
        })
    })
    .await
}

/// The caller's teams.
pub async fn list(
    services: &Services,
    actor: &Actor,
) -> Result<Vec<WorkspaceSummary>, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let rows: Vec<(Uuid, String, String, String)> = workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspace_members::user_id.eq(user.0))
        .filter(workspaces::kind.eq("team"))
        .order(workspaces::name.asc())
        .select((
            workspaces::id,
            workspaces::slug,
            workspaces::name,
            workspace_members::role,
        ))
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, slug, name, role)| {
            Some(WorkspaceSummary {
                id: WorkspaceId(id),
                slug,
                name,
                personal: false,
                role: Role::parse(&role)?,
            })
        })
        .collect())
}

/// The team and its members; any member may look.
pub async fn show(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<TeamDetail, ServiceError> {
    actor.require_session()?;
    let mut conn = services.conn().await?;
    let (workspace, _) = team(&mut conn, actor, slug).await?;
    type MemberRow = (Uuid, String, String, Option<String>, String, DateTime<Utc>);
    let rows: Vec<MemberRow> = workspace_members::table
        .inner_join(users::table)
        .filter(workspace_members::workspace_id.eq(workspace.id.0))
        .order((workspace_members::created_at.asc(), users::handle.asc()))
        .select((
            users::id,
            users::handle,
            users::display_name,
            users::email,
            workspace_members::role,
            workspace_members::created_at,
        ))
        .load(&mut conn)
        .await?;
    let members = rows
        .into_iter()
        .filter_map(|(id, handle, display_name, email, role, joined_at)| {
            Some(Member {
                user: UserId(id),
                handle,
                display_name,
                email,
                role: Role::parse(&role)?,
                joined_at,
            })
        })
        .collect();
    Ok(TeamDetail { workspace, members })
}

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
    let email = super::auth::accounts::normalize_email(&request.email)?;
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
            let (id, created_at): (Uuid, DateTime<Utc>) =
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
    type InviteRow = (Uuid, String, String, Uuid, DateTime<Utc>, DateTime<Utc>);
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
    invite: Uuid,
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

/// Changes a member's role (`Some`) or removes them (`None`).
pub async fn change_member(
    services: &Services,
    actor: &Actor,
    slug: &str,
    member: UserId,
    to: Option<Role>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let me = actor.require_session()?;
    let mut conn = services.conn().await?;
    let (team, my_role) = team(&mut conn, actor, slug).await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let from = access::role_of(conn, member, team.id)
            .await?
            .ok_or(ServiceError::NotFound { what: "member" })?;
        let leaving = member == me && to.is_none();
        if !leaving && !may_manage(my_role, from, to) {
            return Err(ServiceError::Forbidden(format!(
                "a {} cannot change a {}{}",
                my_role.as_str(),
                from.as_str(),
                to.map(|r| format!(" into a {}", r.as_str()))
                    .unwrap_or_default()
            )));
        }
        if from == Role::Owner && to != Some(Role::Owner) && owner_count(conn, team.id).await? <= 1
        {
            return Err(last_owner());
        }
        let target = workspace_members::table.find((team.id.0, member.0));
        let audit_action = match to {
            Some(role) => {
                diesel::update(target)
                    .set(workspace_members::role.eq(role.as_str()))
                    .execute(conn)
                    .await?;
                action::ROLE_CHANGED
            }
            None => {
                diesel::delete(target).execute(conn).await?;
                if leaving {
                    action::MEMBER_LEFT
                } else {
                    action::MEMBER_REMOVED
                }
            }
        };
        audit::record(
            conn,
            Entry {
                action: audit_action,
                user: None,
                actor: &actor,
                workspace: Some(team.id),
                target_type: "user",
                target_id: member.to_string(),
                meta: &meta,
                details: json!({
                    "from": from.as_str(),
                    "to": to.map(Role::as_str),
                }),
            },
        )
        .await
    })
    .await
}

/// The team's audit log, newest first; admins and owners may read it.
/// `action` filters by exact action or by `<object>.` prefix, `actor` by
/// handle.
pub async fn audit_log(
    services: &Services,
    actor: &Actor,
    slug: &str,
    filter_action: Option<String>,
    filter_actor: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<AuditPage, ServiceError> {
    actor.require_scope(Scope::AuditRead)?;
    let (limit, before) = audit_window(limit, cursor)?;
    let mut conn = services.conn().await?;
    let team = require_team_role(&mut conn, actor, slug, Role::Admin).await?;
    audit_page(
        &mut conn,
        team.id,
        filter_action,
        filter_actor,
        limit,
        before,
    )
    .await
}

/// Any workspace's audit log (`slug`, or the caller's own: an API key's
/// workspace, else the personal one), as `audit_log`; admins and owners.
/// Credit movements are here too (`credits.*`, written by the database).
pub async fn workspace_audit_log(
    services: &Services,
    actor: &Actor,
    slug: Option<&str>,
    filter_action: Option<String>,
    filter_actor: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<AuditPage, ServiceError> {
    actor.require_scope(Scope::AuditRead)?;
    let user = actor.require_user()?;
    let (limit, before) = audit_window(limit, cursor)?;
    let mut conn = services.conn().await?;
    let id = match (slug.map(str::trim).filter(|s| !s.is_empty()), actor) {
        (Some(slug), _) => workspaces::table
            .filter(workspaces::slug.eq(slug))
            .select(workspaces::id)
            .first(&mut conn)
            .await
            .optional()?
            .map(WorkspaceId)
            .ok_or(ServiceError::NotFound { what: "workspace" })?,
        (None, Actor::ApiKey { workspace_id, .. }) => *workspace_id,
        (None, _) => access::personal_workspace(&mut conn, user).await?,
    };
    access::require_role(&mut conn, actor, id, Role::Admin).await?;
    audit_page(&mut conn, id, filter_action, filter_actor, limit, before).await
}

/// An audit page's size (50 unless asked; at most 200) and the event id it
/// reads before.
fn audit_window(
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<(i64, Option<i64>), ServiceError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be from 1 to 200"));
    }
    let before = cursor
        .map(|c| {
            c.parse()
                .map_err(|_| ServiceError::invalid("cursor", "is not a cursor this API returned"))
        })
        .transpose()?;
    Ok((limit, before))
}

async fn audit_page(
    conn: &mut AsyncPgConnection,
    workspace: WorkspaceId,
    filter_action: Option<String>,
    filter_actor: Option<String>,
    limit: i64,
    before: Option<i64>,
) -> Result<AuditPage, ServiceError> {
    let mut query = audit_events::table
        .left_join(users::table.on(users::id.nullable().eq(audit_events::actor_user_id)))
        .filter(audit_events::workspace_id.eq(workspace.0))
        .into_boxed();
    if let Some(action) = filter_action.filter(|a| !a.is_empty()) {
        query = if let Some(object) = action.strip_suffix('.') {
            query.filter(
                audit_events::action.like(format!("{}.%", object.replace(['%', '_', '\\'], ""))),
            )
        } else {
            query.filter(audit_events::action.eq(action))
        };
    }
    if let Some(handle) = filter_actor.filter(|h| !h.is_empty()) {
        query = query.filter(users::handle.eq(handle));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    type Row = (
        i64,
        DateTime<Utc>,
        String,
        Option<Uuid>,
        Option<String>,
        Option<Uuid>,
        String,
        String,
        String,
        String,
        serde_json::Value,
    );
    let mut rows: Vec<Row> = query
        .order(audit_events::id.desc())
        .limit(limit + 1)
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::action,
            audit_events::actor_user_id,
            users::handle.nullable(),
            audit_events::actor_key_id,
            audit_events::target_type,
            audit_events::target_id,
            audit_events::ip,
            audit_events::user_agent,
            audit_events::details,
        ))
        .load(conn)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| rows.last().map(|row| row.0.to_string()))
        .flatten();
    let items = rows
        .into_iter()
        .map(
            |(
                id,
                occurred_at,
                action,
                actor,
                actor_handle,
                key,
                target_type,
                target_id,
                ip,
                user_agent,
                details,
            )| {
                Ok(AuditEvent {
                    id,
                    occurred_at,
                    action,
                    actor: actor.map(UserId),
                    actor_handle,
                    actor_key: key.map(ApiKeyId),
                    target_type,
                    target_id,
                    ip,
                    user_agent,
                    details: serde_json::value::to_raw_value(&details).map_err(|e| {
                        ServiceError::Internal(anyhow::anyhow!("audit details: {e}"))
                    })?,
                })
            },
        )
        .collect::<Result<_, ServiceError>>()?;
    Ok(AuditPage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(slug_from("Acme Growth Team!"), "acme-growth-team");
        assert_eq!(slug_from("  --  "), "");
        assert!(valid_slug("acme-2"));
        assert!(!valid_slug("-acme"));
        assert!(!valid_slug("Acme"));
        assert!(!valid_slug(&"a".repeat(40)));
    }

    #[test]
    fn who_may_manage_whom() {
        use Role::*;
        assert!(may_manage(Owner, Owner, Some(Viewer)));
        assert!(may_manage(Owner, Admin, None));
        assert!(may_manage(Admin, Member, Some(Admin)));
        assert!(may_manage(Admin, Viewer, None));
        assert!(!may_manage(Admin, Admin, Some(Member)));
        assert!(!may_manage(Admin, Owner, None));
        assert!(!may_manage(Admin, Member, Some(Owner)));
        assert!(!may_manage(Member, Viewer, Some(Member)));
        assert!(!may_manage(Viewer, Viewer, None));
    }
}
