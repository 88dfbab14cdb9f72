//! A workspace's audit log, read by its admins and owners (and keys with
//! `audit:read`), filtered by action and actor, in pages.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::{audit_events, users, workspaces};
use crate::{ServiceError, Services, access};
use types::account::{AuditEvent, AuditPage, Role, Scope};
use types::{ApiKeyId, UserId, WorkspaceId};

use super::require_team_role;

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
pub(super) fn audit_window(
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

pub(super) async fn audit_page(
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
