//! An agent's visibility and listing, and the caller's own agents.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::agents::{self as market, AgentRecord};
use crate::auth::audit::{self, Entry};
use crate::schema::{agent_drafts, agent_versions, agents, workspace_members, workspaces};
use crate::{ServiceError, Services};
use types::account::{Role, Scope};
use types::market::{AgentSettings, OwnAgent, Visibility};

use super::action;

/// Changes who sees an agent, or takes it off (or back on) the marketplace.
pub async fn change_settings(
    services: &Services,
    actor: &Actor,
    slug: &str,
    settings: AgentSettings,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    if settings.free_tries.is_some_and(|n| n > 100) {
        return Err(ServiceError::invalid("free_tries", "must be from 0 to 100"));
    }
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    if settings.published == Some(true) {
        let versions: i64 = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent.id))
            .count()
            .get_result(&mut conn)
            .await?;
        if versions == 0 {
            return Err(ServiceError::Conflict {
                field: "published",
                message: "publish a version first".into(),
            });
        }
    }
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        if let Some(visibility) = settings.visibility {
            diesel::update(agents::table.find(agent.id))
                .set(agents::visibility.eq(visibility.as_str()))
                .execute(conn)
                .await?;
        }
        if let Some(public) = settings.source_public {
            diesel::update(agents::table.find(agent.id))
                .set(agents::source_public.eq(public))
                .execute(conn)
                .await?;
        }
        if let Some(free_tries) = settings.free_tries {
            diesel::update(agents::table.find(agent.id))
                .set(agents::free_tries.eq(i32::try_from(free_tries).unwrap_or(100)))
                .execute(conn)
                .await?;
        }
        match settings.archived {
            Some(true) if agent.archived_at.is_none() => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::archived_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            Some(false) => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::archived_at.eq(None::<DateTime<Utc>>))
                    .execute(conn)
                    .await?;
            }
            _ => {}
        }
        match settings.published {
            Some(false) => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::published_at.eq(None::<DateTime<Utc>>))
                    .execute(conn)
                    .await?;
            }
            Some(true) if agent.published_at.is_none() => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::published_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            _ => {}
        }
        audit::record(
            conn,
            Entry {
                action: action::SETTINGS_CHANGED,
                user: None,
                actor: &actor,
                workspace: Some(agent.workspace()),
                target_type: "agent",
                target_id: agent.id.to_string(),
                meta: &meta,
                details: serde_json::json!({
                    "visibility": settings.visibility.map(Visibility::as_str),
                    "published": settings.published,
                    "source_public": settings.source_public,
                    "free_tries": settings.free_tries,
                    "archived": settings.archived,
                }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

/// Deployments that still run (or are on their way up or down) keep an
/// agent from being deleted.
const ACTIVE: [&str; 5] = ["queued", "building", "starting", "running", "stopping"];

/// Deletes an agent: archived first, then gone for everyone (its slug kept
/// so no one else can take its links). Refused (409 `deployments`) while
/// any workspace has a deployment of it that is not stopped or failed.
/// Versions that some deployment names stay, for its runs; the others go
/// with the draft.
pub async fn delete(
    services: &Services,
    actor: &Actor,
    slug: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    use crate::schema::deployments;
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        // Deployments are created under a share lock of this row
        // (deployments::create): none can appear between the count and
        // the delete.
        let _: Uuid = agents::table
            .find(agent.id)
            .select(agents::id)
            .for_update()
            .get_result(conn)
            .await?;
        let active: i64 = deployments::table
            .filter(deployments::agent_id.eq(agent.id))
            .filter(deployments::deleted_at.is_null())
            .filter(deployments::status.eq_any(ACTIVE))
            .count()
            .get_result(conn)
            .await?;
        if active > 0 {
            return Err(ServiceError::Conflict {
                field: "deployments",
                message: format!(
                    "{active} deployment{} of this agent still run{}; archive it so no new ones \
                     start, and delete it once they are stopped",
                    if active == 1 { "" } else { "s" },
                    if active == 1 { "s" } else { "" },
                ),
            });
        }
        diesel::update(agents::table.find(agent.id))
            .set((
                agents::deleted_at.eq(diesel::dsl::now),
                agents::archived_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(archived_at, now())")),
            ))
            .execute(conn)
            .await?;
        let kept = deployments::table
            .filter(deployments::agent_id.eq(agent.id))
            .select(deployments::version_id);
        let versions = diesel::delete(
            agent_versions::table
                .filter(agent_versions::agent_id.eq(agent.id))
                .filter(agent_versions::id.ne_all(kept)),
        )
        .execute(conn)
        .await?;
        diesel::delete(agent_drafts::table.filter(agent_drafts::agent_id.eq(agent.id)))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            Entry {
                action: action::DELETED,
                user: None,
                actor: &actor,
                workspace: Some(agent.workspace()),
                target_type: "agent",
                target_id: agent.id.to_string(),
                meta: &meta,
                details: serde_json::json!({ "slug": agent.slug, "versions_removed": versions }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

/// The agents the caller can edit, most recently edited first.
pub async fn own_agents(services: &Services, actor: &Actor) -> Result<Vec<OwnAgent>, ServiceError> {
    let user = actor.require_scope(Scope::AgentsRead)?;
    let mut conn = services.conn().await?;
    let mut query = agents::table
        .inner_join(workspaces::table)
        .inner_join(
            workspace_members::table.on(workspace_members::workspace_id
                .eq(agents::workspace_id)
                .and(workspace_members::user_id.eq(user.0))),
        )
        .left_join(agent_drafts::table)
        .filter(workspace_members::role.ne(Role::Viewer.as_str()))
        .filter(agents::deleted_at.is_null())
        .select((
            AgentRecord::as_select(),
            workspaces::name,
            agent_drafts::updated_at.nullable(),
        ))
        .order(agents::updated_at.desc())
        .limit(500)
        .into_boxed();
    if let Actor::ApiKey { workspace_id, .. } = actor {
        query = query.filter(agents::workspace_id.eq(workspace_id.0));
    }
    let rows: Vec<(AgentRecord, String, Option<DateTime<Utc>>)> = query.load(&mut conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|(agent, _, _)| agent.id).collect();
    let latest: Vec<(Uuid, String)> = agent_versions::table
        .filter(agent_versions::agent_id.eq_any(&ids))
        .order((
            agent_versions::agent_id,
            agent_versions::version_major.desc(),
            agent_versions::version_minor.desc(),
            agent_versions::version_patch.desc(),
        ))
        .select((agent_versions::agent_id, agent_versions::version))
        .distinct_on(agent_versions::agent_id)
        .load(&mut conn)
        .await?;
    let latest: BTreeMap<Uuid, String> = latest.into_iter().collect();
    let mut own: Vec<OwnAgent> = rows
        .into_iter()
        .map(|(agent, workspace, draft_at)| OwnAgent {
            latest_version: latest.get(&agent.id).cloned(),
            icon: agent.icon.clone(),
            workspace,
            published: agent.published_at.is_some(),
            visibility: agent.visibility(),
            archived: agent.archived_at.is_some(),
            draft_updated_at: draft_at.unwrap_or(agent.updated_at),
            agent: agent.reference(),
        })
        .collect();
    own.sort_by_key(|own| std::cmp::Reverse(own.draft_updated_at));
    Ok(own)
}
