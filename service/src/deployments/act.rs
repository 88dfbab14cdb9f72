//! Stopping, starting, restarting and deleting a deployment, and
//! redeploying another version (also a rollback).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::actor::RequestMeta;
use crate::agents::AgentRecord;
use crate::auth::audit::{self};
use crate::jobs::{NewJob, enqueue};
use crate::schema::{agents, deployments};
use crate::{ServiceError, Services, events};
use types::WorkspaceId;
use types::account::Scope;
use types::deploy::{Deployment, DeploymentEvent, DeploymentStatus};

use super::DeploymentRecord;
use super::STOP_JOB;
use super::audit_deployment;
use super::editable;
use super::lock;
use super::pipeline::DEPLOY_PRIORITY;
use super::pipeline::announce;
use super::pipeline::job_payload;
use super::pipeline::queue_deploy;
use super::pipeline::set_status;
use super::pipeline::version_label;
use super::pipeline::version_of;
use super::to_value;
use super::topic;
use super::view;

/// What the caller can do to a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Stop,
    Start,
    Restart,
    Delete,
}

/// Stops, starts, restarts or deletes a deployment (members and up).
pub async fn act(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    action: Action,
) -> Result<Option<Deployment>, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    if matches!(action, Action::Start | Action::Restart) {
        still_visible(&mut conn, actor, record.agent_id).await?;
    }
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let record = lock(conn, record.id).await?;
            if matches!(action, Action::Start | Action::Restart) {
                agent_still_there(conn, record.agent_id).await?;
            }
            let (id, workspace) = (record.id, WorkspaceId(record.workspace_id));
            let version = version_label(conn, record.version_id).await?;
            let updated = match action {
                Action::Stop => {
                    if matches!(
                        record.status(),
                        DeploymentStatus::Stopped | DeploymentStatus::Stopping
                    ) {
                        return Ok(Some(record));
                    }
                    // Bumping the generation turns any deploy in flight
                    // into a no-op.
                    let stopping =
                        set_status(conn, &record, DeploymentStatus::Stopping, None, true).await?;
                    announce(conn, &stopping, &version).await?;
                    enqueue(
                        conn,
                        NewJob::new(STOP_JOB, job_payload(&stopping))
                            .priority(DEPLOY_PRIORITY)
                            .unique(format!("stop:{}:{}", stopping.id, stopping.generation)),
                    )
                    .await?;
                    Some(stopping)
                }
                Action::Start if record.status() == DeploymentStatus::Running => Some(record),
                Action::Start | Action::Restart => {
                    let queued =
                        set_status(conn, &record, DeploymentStatus::Queued, None, true).await?;
                    announce(conn, &queued, &version).await?;
                    queue_deploy(conn, &queued).await?;
                    Some(queued)
                }
                Action::Delete => {
                    diesel::update(deployments::table.find(record.id))
                        .set((
                            deployments::deleted_at.eq(diesel::dsl::now),
                            deployments::generation.eq(record.generation + 1),
                            deployments::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)
                        .await?;
                    let event = DeploymentEvent::Deleted { at: Utc::now() };
                    events::publish(conn, topic(record.id), &to_value(&event)?).await?;
                    None
                }
            };
            audit_deployment(
                conn,
                actor,
                meta,
                action.audit(),
                workspace,
                id,
                serde_json::json!({}),
            )
            .await?;
            Ok(updated)
        })
        .await?;
    match record {
        Some(record) => Ok(Some(view(&mut conn, record).await?)),
        None => Ok(None),
    }
}

/// The deployment's agent, if the caller may still see it: deploying it
/// again (start, restart, another version) needs what creating the
/// deployment needed, so someone who lost access to a private agent (left
/// or was removed from its team) cannot keep running it anew (404).
async fn still_visible(
    conn: &mut diesel_async::AsyncPgConnection,
    actor: &Actor,
    agent: Uuid,
) -> Result<AgentRecord, ServiceError> {
    let slug: String = agents::table
        .find(agent)
        .select(agents::slug)
        .first(conn)
        .await?;
    Ok(crate::agents::visible(conn, actor, &slug).await?.0)
}

/// Holds the agent's row (shared) for the rest of the transaction and
/// refuses when it was deleted: deleting takes the row for update and
/// counts the deployments still running, so a deployment brought back up
/// under a delete either is counted by it or sees it.
async fn agent_still_there(
    conn: &mut diesel_async::AsyncPgConnection,
    agent: Uuid,
) -> Result<(), ServiceError> {
    let deleted: Option<chrono::DateTime<chrono::Utc>> = agents::table
        .find(agent)
        .select(agents::deleted_at)
        .for_share()
        .get_result(conn)
        .await?;
    match deleted {
        Some(_) => Err(ServiceError::NotFound { what: "agent" }),
        None => Ok(()),
    }
}

/// Deploys another published version of the same agent (a rollback is a
/// redeploy to an older one).
pub async fn redeploy(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    version: &str,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    let agent = still_visible(&mut conn, actor, record.agent_id).await?;
    let (version_id, label) = version_of(&mut conn, &agent, Some(version)).await?;
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let record = lock(conn, record.id).await?;
            agent_still_there(conn, record.agent_id).await?;
            let record: DeploymentRecord = diesel::update(deployments::table.find(record.id))
                .set((
                    deployments::version_id.eq(version_id),
                    deployments::status.eq(DeploymentStatus::Queued.as_str()),
                    deployments::status_reason.eq(None::<String>),
                    deployments::generation.eq(record.generation + 1),
                    deployments::updated_at.eq(diesel::dsl::now),
                ))
                .returning(DeploymentRecord::as_returning())
                .get_result(conn)
                .await?;
            announce(conn, &record, &label).await?;
            queue_deploy(conn, &record).await?;
            audit_deployment(
                conn,
                actor,
                meta,
                audit::action::DEPLOYMENT_REDEPLOYED,
                WorkspaceId(record.workspace_id),
                record.id,
                serde_json::json!({ "version": label }),
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(&mut conn, record).await
}
