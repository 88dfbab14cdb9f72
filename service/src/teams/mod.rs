//! Teams: workspaces with several members. Creating one, inviting by link,
//! joining, changing roles, removing, leaving, and the team's audit log.
//! Who may do what is decided in `access` and in `may_manage` below, and
//! nowhere else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::actor::{Actor, RequestMeta};
use super::auth::audit::{self, Entry, action};
use super::schema::{users, workspace_members, workspaces};
use super::{ServiceError, Services, access};
use types::account::{CreateTeam, Member, Role, TeamDetail, WorkspaceSummary};
use types::{UserId, WorkspaceId};

mod audit_log;
mod invites;
mod members;

pub use audit_log::{audit_log, workspace_audit_log};
pub use invites::{accept_invite, invite, invites, revoke_invite};
pub use members::change_member;

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

#[cfg(test)]
mod tests {
    use super::members::may_manage;
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
