//! Changing a member's role or removing a member, by the rule of who may
//! manage whom; a team always keeps an owner.

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::{self, Entry, action};
use crate::schema::workspace_members;
use crate::{ServiceError, Services, access};
use types::account::Role;
use types::{UserId, WorkspaceId};

use super::team;

/// Whether someone with `actor` role may change a member from `from` to `to`
/// (`None`: remove). Owners manage everyone; admins manage members and
/// viewers and may raise them to admin; nobody else manages anyone.
pub(super) fn may_manage(actor: Role, from: Role, to: Option<Role>) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => from < Role::Admin && to.is_none_or(|to| to <= Role::Admin),
        Role::Member | Role::Viewer => false,
    }
}

pub(super) async fn owner_count(
    conn: &mut AsyncPgConnection,
    team: WorkspaceId,
) -> Result<i64, ServiceError> {
    Ok(workspace_members::table
        .filter(workspace_members::workspace_id.eq(team.0))
        .filter(workspace_members::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
        .await?)
}

pub(super) fn last_owner() -> ServiceError {
    ServiceError::Conflict {
        field: "role",
        message: "a team needs at least one owner; make someone else owner first".into(),
    }
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
