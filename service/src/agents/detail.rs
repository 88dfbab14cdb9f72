//! One agent as its page shows it (README, newest version, versions,
//! rating, what the viewer may do) and a creator's profile.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::{agent_versions, agents, users};
use crate::{ServiceError, Services, markdown, ratings};
use types::account::{Role, Scope};
use types::market::{CreatorProfile, LatestVersion, Viewer};
use types::{AgentDetail, AgentVersionId, Author, VersionSummary};

use super::AgentRecord;
use super::manifest_from;
use super::newest_first;
use super::search::CARD_COLUMNS;
use super::search::CardRow;
use super::search::summary;
use super::visible;

/// A creator page shows at most this many agents.
pub(super) const CREATOR_AGENTS: i64 = 100;

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_versions)]
pub(super) struct VersionRow {
    id: Uuid,
    version: String,
    changelog: String,
    created_at: DateTime<Utc>,
}

pub(crate) async fn versions_of(
    conn: &mut AsyncPgConnection,
    agent: Uuid,
) -> Result<Vec<VersionSummary>, ServiceError> {
    let rows: Vec<VersionRow> = agent_versions::table
        .filter(agent_versions::agent_id.eq(agent))
        .order(newest_first())
        .select(VersionRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|v| VersionSummary {
            id: AgentVersionId(v.id),
            version: v.version,
            changelog: v.changelog,
            created_at: v.created_at,
        })
        .collect())
}

pub(super) async fn author_of(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> Result<Author, ServiceError> {
    let (handle, display_name): (String, String) = users::table
        .find(user)
        .select((users::handle, users::display_name))
        .first(conn)
        .await?;
    Ok(Author {
        handle,
        display_name,
    })
}

/// The agent page for `slug`.
pub async fn by_slug(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<AgentDetail, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    page(services, actor, slug).await
}

/// The agent page as `actor` sees it after a change it was allowed to make
/// (`authoring::change_settings` checked `agents:write`): a key that may
/// change an agent is answered with what it changed, `agents:read` or not.
pub async fn after_change(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<AgentDetail, ServiceError> {
    page(services, actor, slug).await
}

async fn page(services: &Services, actor: &Actor, slug: &str) -> Result<AgentDetail, ServiceError> {
    let mut conn = services.conn().await?;
    let (agent, role) = visible(&mut conn, actor, slug).await?;
    let author = author_of(&mut conn, agent.owner_user_id).await?;
    let versions = versions_of(&mut conn, agent.id).await?;
    let latest: Option<(String, serde_json::Value, String)> = agent_versions::table
        .filter(agent_versions::agent_id.eq(agent.id))
        .order(newest_first())
        .select((
            agent_versions::version,
            agent_versions::manifest,
            agent_versions::example_input,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let latest = match latest {
        Some((version, manifest, example_input)) => Some(LatestVersion {
            version,
            manifest: manifest_from(manifest)?,
            example_input,
        }),
        None => None,
    };
    let forked_from = match agent.forked_from {
        Some(parent) => agents::table
            .find(parent)
            .filter(agents::deleted_at.is_null())
            .select(AgentRecord::as_select())
            .first::<AgentRecord>(&mut conn)
            .await
            .optional()?
            .filter(AgentRecord::is_open)
            .map(|parent| parent.reference()),
        None => None,
    };
    let user = actor.user_id();
    let my_review = match user {
        Some(user) => ratings::mine(&mut conn, agent.id, user).await?,
        None => None,
    };
    let free_tries_left = match user {
        Some(user) if role.is_none() && agent.price_credits > 0 && agent.free_tries > 0 => {
            use crate::schema::trial_runs;
            let used: i64 = trial_runs::table
                .filter(trial_runs::agent_id.eq(agent.id))
                .filter(trial_runs::user_id.eq(user.0))
                .filter(trial_runs::free_try)
                .count()
                .get_result(&mut conn)
                .await?;
            u32::try_from((i64::from(agent.free_tries) - used).max(0)).unwrap_or(0)
        }
        _ => 0,
    };
    let viewer = Viewer {
        signed_in: user.is_some(),
        can_edit: role.is_some_and(|role| role >= Role::Member),
        can_review: user.is_some() && role.is_none() && agent.published_at.is_some(),
        my_review,
        can_read_source: agent.source_readable(role),
        free_tries_left,
    };
    let usage = if viewer.can_edit {
        Some(super::usage::week(&mut conn, agent.id).await?)
    } else {
        None
    };
    let readme_html = markdown::render(&agent.readme);
    Ok(AgentDetail {
        readme: agent.readme.clone(),
        readme_html,
        visibility: agent.visibility(),
        published: agent.published_at.is_some(),
        archived: agent.archived_at.is_some(),
        latest,
        usage,
        forked_from,
        created_at: agent.created_at,
        updated_at: agent.updated_at,
        versions,
        viewer,
        agent: summary(
            agent.id,
            agent.slug,
            agent.name,
            agent.summary,
            &agent.category,
            agent.tags,
            agent.icon,
            agent.price_credits,
            (agent.rating_total, agent.rating_count),
            (agent.runs_count, agent.runs_succeeded),
            author,
        )?,
    })
}

/// A creator's page: who they are and their listed agents, most used first.
pub async fn creator(
    services: &Services,
    actor: &Actor,
    handle: &str,
) -> Result<CreatorProfile, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let not_found = || ServiceError::NotFound { what: "creator" };
    if handle.is_empty() || handle.len() > 39 {
        return Err(not_found());
    }
    let mut conn = services.conn().await?;
    let (user, display_name, joined_at): (Uuid, String, DateTime<Utc>) = users::table
        .filter(users::handle.eq(handle))
        .select((users::id, users::display_name, users::created_at))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let rows: Vec<CardRow> = diesel::sql_query(format!(
        "SELECT {CARD_COLUMNS}, '' AS sort_key FROM agents a \
         JOIN users u ON u.id = a.owner_user_id \
         WHERE a.owner_user_id = $1 AND {listed} \
         ORDER BY a.runs_count DESC, a.id LIMIT $2",
        listed = super::listed_sql("a")
    ))
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<BigInt, _>(CREATOR_AGENTS)
    .load(&mut conn)
    .await?;
    let agents = rows
        .into_iter()
        .map(CardRow::into_summary)
        .collect::<Result<Vec<_>, _>>()?;
    let total_runs = agents.iter().map(|agent| agent.runs_count).sum();
    Ok(CreatorProfile {
        author: Author {
            handle: handle.to_owned(),
            display_name,
        },
        joined_at,
        agents,
        total_runs,
    })
}
