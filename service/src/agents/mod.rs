//! The marketplace: ranked, typo-tolerant search with filters and keyset
//! pagination, agent pages, and creator profiles.
//!
//! Who sees an agent: a published public or unlisted agent is visible to
//! everyone (only public ones are listed); anything else only to members of
//! its workspace. An agent someone may not see is reported as missing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::Actor;
use super::schema::{agent_versions, agents};
use super::{ServiceError, access};
use types::account::{Role, Scope};
use types::manifest::Manifest;
use types::market::{AgentRef, Visibility};
use types::{AgentId, UserId, WorkspaceId};

mod detail;
mod search;
mod sitemap;
mod usage;
mod words;

pub(crate) use detail::versions_of;
pub use detail::{after_change, by_slug, creator};
pub use search::{DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, escape_like, invalid_limit, list};
pub use sitemap::{Listed, MAX_URLS as SITEMAP_MAX_URLS, sitemap};
pub use usage::{RolledUp, roll_up as roll_up_usage};

pub(crate) const MAX_SLUG_CHARS: usize = 64;
/// An agent's row as the access rules and pages need it.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = agents)]
pub(crate) struct AgentRecord {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub readme: String,
    pub category: String,
    pub tags: Vec<String>,
    pub icon: String,
    pub visibility: String,
    pub price_credits: i64,
    pub rating_total: i64,
    pub rating_count: i32,
    pub runs_count: i64,
    pub runs_succeeded: i64,
    pub owner_user_id: Uuid,
    pub workspace_id: Uuid,
    pub published_at: Option<DateTime<Utc>>,
    pub forked_from: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub source_public: bool,
    pub free_tries: i32,
    pub archived_at: Option<DateTime<Utc>>,
}

impl AgentRecord {
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }

    /// Whether anyone at all may see it.
    pub fn is_open(&self) -> bool {
        self.published_at.is_some() && self.visibility() != Visibility::Private
    }

    /// Refuses what an archived agent no longer offers: new deployments
    /// and tries.
    pub fn require_offered(&self) -> Result<(), ServiceError> {
        match self.archived_at {
            Some(_) => Err(archived()),
            None => Ok(()),
        }
    }

    pub fn workspace(&self) -> WorkspaceId {
        WorkspaceId(self.workspace_id)
    }

    /// Whether someone with `role` in its workspace (or none) may read its
    /// source, and so fork it: its own workspace always; others when it is
    /// free or its author made the source public.
    pub fn source_readable(&self, role: Option<Role>) -> bool {
        role.is_some() || self.price_credits == 0 || self.source_public
    }

    pub fn reference(&self) -> AgentRef {
        AgentRef {
            id: AgentId(self.id),
            slug: self.slug.clone(),
            name: self.name.clone(),
        }
    }
}

/// What asking an archived agent for a deployment or a try answers.
pub(crate) fn archived() -> ServiceError {
    ServiceError::Conflict {
        field: "agent",
        message: "this agent is archived: its author no longer offers it for new deployments \
                  or tries"
            .into(),
    }
}

/// The condition for agents the marketplace lists (public, published, not
/// archived), on the table aliased `table`: search, creator pages and the
/// sitemap all use it (the search dictionary's trigger says the same in
/// SQL, migration 000027).
pub(crate) fn listed_sql(table: &str) -> String {
    format!(
        "{table}.visibility = 'public' AND {table}.published_at IS NOT NULL \
         AND {table}.archived_at IS NULL"
    )
}

/// The agent `slug` and the caller's role in its workspace, or 404 when the
/// caller may not see it.
pub(crate) async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: &str,
) -> Result<(AgentRecord, Option<Role>), ServiceError> {
    let not_found = || ServiceError::NotFound { what: "agent" };
    if slug.is_empty() || slug.chars().count() > MAX_SLUG_CHARS {
        return Err(not_found());
    }
    // A deleted agent is gone for everyone, its owners too.
    let agent: AgentRecord = agents::table
        .filter(agents::slug.eq(slug))
        .filter(agents::deleted_at.is_null())
        .select(AgentRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let role = match actor {
        Actor::Anonymous => None,
        // A key acts only in its own workspace.
        Actor::ApiKey { workspace_id, .. } if *workspace_id != agent.workspace() => None,
        _ => match actor.user_id() {
            Some(user) => access::role_of(conn, user, agent.workspace()).await?,
            None => None,
        },
    };
    if !agent.is_open() && role.is_none() {
        return Err(not_found());
    }
    Ok((agent, role))
}

/// The agent `slug` for editing: the caller must be a member of its
/// workspace with at least the member role (viewers only look).
pub(crate) async fn editable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: &str,
) -> Result<AgentRecord, ServiceError> {
    actor.require_scope(Scope::AgentsWrite)?;
    let (agent, role) = visible(conn, actor, slug).await?;
    match role {
        Some(role) if role >= Role::Member => Ok(agent),
        Some(role) => Err(ServiceError::Forbidden(format!(
            "editing agents needs the member role in the workspace; you are {}",
            role.as_str()
        ))),
        None => Err(ServiceError::Forbidden(
            "only members of the agent's workspace can change it".into(),
        )),
    }
}

/// Versions in semver order, newest first.
pub(crate) fn newest_first() -> (
    diesel::helper_types::Desc<agent_versions::version_major>,
    diesel::helper_types::Desc<agent_versions::version_minor>,
    diesel::helper_types::Desc<agent_versions::version_patch>,
) {
    (
        agent_versions::version_major.desc(),
        agent_versions::version_minor.desc(),
        agent_versions::version_patch.desc(),
    )
}

/// Reads a stored manifest; one that no longer reads is a platform fault.
pub(crate) fn manifest_from(value: serde_json::Value) -> Result<Manifest, ServiceError> {
    serde_json::from_value(value)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("stored manifest: {error}")))
}

/// Whether `user` wrote `agent` (is a member of its workspace): authors do
/// not review their own agents.
pub(crate) async fn is_author(
    conn: &mut AsyncPgConnection,
    agent: &AgentRecord,
    user: UserId,
) -> Result<bool, ServiceError> {
    Ok(agent.owner_user_id == user.0
        || access::role_of(conn, user, agent.workspace())
            .await?
            .is_some())
}
