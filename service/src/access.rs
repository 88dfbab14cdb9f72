//! Every permission decision goes through here: which workspaces a caller
//! belongs to and with what role. A workspace (or anything in it) that the
//! caller may not see is reported as missing, so its existence does not leak.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::ServiceError;
use super::actor::Actor;
use super::schema::{deployments, runs, workspace_members, workspaces};
use types::account::{Role, Scope};
use types::topic::{Topic, TopicRequest};
use types::{UserId, WorkspaceId};

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "workspace" }
}

/// The user's role in `workspace`, if a member.
pub async fn role_of(
    conn: &mut AsyncPgConnection,
    user: UserId,
    workspace: WorkspaceId,
) -> Result<Option<Role>, ServiceError> {
    let role: Option<String> = workspace_members::table
        .find((workspace.0, user.0))
        .select(workspace_members::role)
        .first(conn)
        .await
        .optional()?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The caller's role in `workspace`, or 404 when the caller is not a member
/// (or holds a key for another workspace).
pub async fn member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    workspace: WorkspaceId,
) -> Result<Role, ServiceError> {
    let user = actor.require_user()?;
    if let Some(bound) = actor.bound_workspace()
        && bound != workspace
    {
        return Err(not_found());
    }
    role_of(conn, user, workspace).await?.ok_or_else(not_found)
}

/// Like `member`, but the role must be at least `least`; a member with too
/// small a role learns why (403), a stranger learns nothing (404).
pub async fn require_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    workspace: WorkspaceId,
    least: Role,
) -> Result<Role, ServiceError> {
    let role = member(conn, actor, workspace).await?;
    if role < least {
        return Err(ServiceError::Forbidden(format!(
            "this needs the {} role in the workspace; you are {}",
            least.as_str(),
            role.as_str()
        )));
    }
    Ok(role)
}

/// The workspace a request names by slug: a key's own when it names none,
/// else the caller's personal one. Membership is the caller's to check.
pub async fn named_workspace(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: Option<&str>,
) -> Result<WorkspaceId, ServiceError> {
    let user = actor.require_user()?;
    match (slug.map(str::trim), actor.bound_workspace()) {
        (None | Some(""), Some(bound)) => Ok(bound),
        (None | Some(""), None) => personal_workspace(conn, user).await,
        (Some(slug), _) => workspaces::table
            .filter(workspaces::slug.eq(slug))
            .select(workspaces::id)
            .first(conn)
            .await
            .optional()?
            .map(WorkspaceId)
            .ok_or_else(not_found),
    }
}

/// The user's personal workspace.
pub async fn personal_workspace(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<WorkspaceId, ServiceError> {
    workspaces::table
        .filter(workspaces::personal_user_id.eq(user.0))
        .select(workspaces::id)
        .first(conn)
        .await
        .optional()?
        .map(WorkspaceId)
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("user {user} has no personal workspace"))
        })
}

/// A web embed's visitor follows its own runs only: a run of the embed
/// (while it is on) whose message is in the visitor's conversation.
async fn visitor_topic(
    conn: &mut AsyncPgConnection,
    embed: uuid::Uuid,
    session: uuid::Uuid,
    topic: TopicRequest,
) -> Result<Topic, ServiceError> {
    use crate::schema::{embed_messages, embeds};
    let TopicRequest::Run(id) = topic else {
        return Err(ServiceError::NotFound { what: "topic" });
    };
    let theirs: Option<uuid::Uuid> = runs::table
        .inner_join(embed_messages::table.on(embed_messages::run_id.eq(runs::id.nullable())))
        .inner_join(embeds::table.on(embeds::id.nullable().eq(runs::embed_id)))
        .filter(runs::id.eq(id.0))
        .filter(runs::embed_id.eq(embed))
        .filter(embeds::enabled)
        .filter(embed_messages::session_id.eq(session))
        .select(runs::id)
        .first(conn)
        .await
        .optional()?;
    theirs
        .map(|_| Topic::Run(id))
        .ok_or(ServiceError::NotFound { what: "topic" })
}

/// Whether `actor` may follow a topic, and the stored topic it names: `user`
/// is the caller's own events; a deployment's or a run's topic is for
/// anyone with a role in its workspace. Refusals are all 404 `topic`.
pub async fn may_follow(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    topic: TopicRequest,
) -> Result<Topic, ServiceError> {
    let not_found = || ServiceError::NotFound { what: "topic" };
    if let Actor::Visitor {
        embed_id,
        session_id,
        ..
    } = actor
    {
        return visitor_topic(conn, *embed_id, *session_id, topic).await;
    }
    let user = actor.require_user()?;
    if !matches!(topic, TopicRequest::OwnEvents | TopicRequest::System) {
        // A deployment's and a run's events carry runs' input and output.
        actor.check_key_scope(Scope::RunsRead)?;
    }
    let (workspace, topic) = match topic {
        TopicRequest::OwnEvents => return Ok(Topic::User(user)),
        // Heartbeats are not stored; the server answers them itself.
        TopicRequest::System => return Err(not_found()),
        TopicRequest::Deployment(id) => (
            deployments::table
                .find(id.0)
                .filter(deployments::deleted_at.is_null())
                .select(deployments::workspace_id)
                .first::<uuid::Uuid>(conn)
                .await
                .optional()?,
            Topic::Deployment(id),
        ),
        TopicRequest::Run(id) => (
            runs::table
                .find(id.0)
                .select(runs::workspace_id)
                .first::<uuid::Uuid>(conn)
                .await
                .optional()?,
            Topic::Run(id),
        ),
    };
    let workspace = workspace.ok_or_else(not_found)?;
    match member(conn, actor, WorkspaceId(workspace)).await {
        Ok(_) => Ok(topic),
        Err(ServiceError::NotFound { .. } | ServiceError::Forbidden(_)) => Err(not_found()),
        Err(other) => Err(other),
    }
}
