//! Deployments: creating them and acting on them (each act a status change,
//! a live event and, where work is needed, a job, in one transaction), and
//! the steps the deploy pipeline's jobs take (`server::jobs::deploy`).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::Actor;
use super::actor::RequestMeta;
use super::auth::audit::{self, Entry};
use super::schema::{agents, deployments, workspaces};
use super::{ServiceError, access};
use types::account::Role;
use types::deploy::{Deployment, DeploymentEvent, DeploymentStatus};
use types::market::AgentRef;
use types::topic::Topic;
use types::{AgentId, DeploymentId, WorkspaceId};

mod act;
mod create;
mod pipeline;
mod read;
pub(crate) use read::require_deploy_or_run_scope;
mod settings;

pub use act::{Action, act, redeploy};
pub use create::create;
use pipeline::version_label;
pub use pipeline::{DeployWork, advance, deploy_work, log};
pub use read::{list, show};
pub use settings::{change_config, change_secrets, change_spend_cap};

/// The job kind that builds, starts and health-checks a deployment.
pub const DEPLOY_JOB: &str = "deployment.deploy";
/// The job kind that stops one.
pub const STOP_JOB: &str = "deployment.stop";
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = deployments)]
pub struct DeploymentRecord {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub version_id: Uuid,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub generation: i32,
    pub config: serde_json::Value,
    pub created_by: Uuid,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
    pub deleted_at: Option<chrono::DateTime<Utc>>,
    /// Monthly spend cap in credits (`None`: none).
    pub spend_cap_credits: Option<i64>,
}

impl DeploymentRecord {
    pub fn status(&self) -> DeploymentStatus {
        DeploymentStatus::parse(&self.status).unwrap_or(DeploymentStatus::Failed)
    }
}

/// The live topic of a deployment.
fn topic(id: Uuid) -> Topic {
    Topic::Deployment(DeploymentId(id))
}

impl Action {
    fn audit(self) -> &'static str {
        match self {
            Self::Stop => audit::action::DEPLOYMENT_STOPPED,
            Self::Start => audit::action::DEPLOYMENT_STARTED,
            Self::Restart => audit::action::DEPLOYMENT_RESTARTED,
            Self::Delete => audit::action::DEPLOYMENT_DELETED,
        }
    }
}

fn to_value(event: &DeploymentEvent) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(event)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("event: {error}")))
}

async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> Result<DeploymentRecord, ServiceError> {
    deployments::table
        .find(id)
        .filter(deployments::deleted_at.is_null())
        .for_update()
        .select(DeploymentRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "deployment" })
}

/// The deployment, if the caller has any role in its workspace.
pub(crate) async fn visible_record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<DeploymentRecord, ServiceError> {
    visible(conn, actor, id).await
}

pub(crate) async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<DeploymentRecord, ServiceError> {
    let record: DeploymentRecord = deployments::table
        .find(id)
        .filter(deployments::deleted_at.is_null())
        .select(DeploymentRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "deployment" })?;
    access::member(conn, actor, WorkspaceId(record.workspace_id))
        .await
        .map_err(|error| match error {
            ServiceError::Unauthenticated => error,
            _ => ServiceError::NotFound { what: "deployment" },
        })?;
    Ok(record)
}

/// The deployment, if the caller may change it (member and up).
/// The audit line of `action` on deployment `id` of `workspace`.
pub(crate) async fn audit_deployment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    action: &'static str,
    workspace: WorkspaceId,
    id: Uuid,
    details: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        Entry {
            action,
            user: None,
            actor,
            workspace: Some(workspace),
            target_type: "deployment",
            target_id: id.to_string(),
            meta,
            details,
        },
    )
    .await
}

pub(crate) async fn editable(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<DeploymentRecord, ServiceError> {
    let record = visible(conn, actor, id).await?;
    access::require_role(conn, actor, WorkspaceId(record.workspace_id), Role::Member).await?;
    Ok(record)
}

async fn view(
    conn: &mut AsyncPgConnection,
    record: DeploymentRecord,
) -> Result<Deployment, ServiceError> {
    // The topic's newest event first, then the row: the row is then at
    // least as new as the events up to `event_seq` (a status and its event
    // commit together), so a client following from `event_seq` never sees
    // an older status win over a newer one.
    let event_seq: Option<i64> = super::schema::event_topics::table
        .find(topic(record.id).to_string())
        .select(super::schema::event_topics::last_seq)
        .first(conn)
        .await
        .optional()?;
    let record: DeploymentRecord = deployments::table
        .find(record.id)
        .select(DeploymentRecord::as_select())
        .first(conn)
        .await?;
    let (slug, name, owner, price, archived): (String, String, Uuid, i64, bool) = agents::table
        .find(record.agent_id)
        .select((
            agents::slug,
            agents::name,
            agents::workspace_id,
            agents::price_credits,
            agents::archived_at.is_not_null(),
        ))
        .first(conn)
        .await?;
    // A workspace runs its own agents for free.
    let price_credits = if owner == record.workspace_id {
        0
    } else {
        price
    };
    let version = version_label(conn, record.version_id).await?;
    let workspace: String = workspaces::table
        .find(record.workspace_id)
        .select(workspaces::slug)
        .first(conn)
        .await?;
    let status = record.status();
    let secrets = super::secrets::names(conn, record.id).await?;
    let spent_this_month = match record.spend_cap_credits {
        Some(_) => Some(super::spend::by_deployment(conn, record.id).await?),
        None => None,
    };
    Ok(Deployment {
        agent_archived: archived,
        secrets,
        price_credits,
        spend_cap_credits: record.spend_cap_credits,
        spent_this_month,
        id: record.id,
        name: record.name,
        agent: AgentRef {
            id: AgentId(record.agent_id),
            slug,
            name,
        },
        version,
        workspace,
        status,
        status_reason: record.status_reason,
        generation: record.generation,
        config: match record.config {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
        event_seq: event_seq.unwrap_or(0),
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}
