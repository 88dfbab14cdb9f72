//! Deployments: creating them and acting on them (each act a status change,
//! a live event and, where work is needed, a job, in one transaction), and
//! the steps the deploy pipeline's jobs take (`server::jobs::deploy`).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::Actor;
use super::actor::RequestMeta;
use super::agents::{self as market, AgentRecord, manifest_from, newest_first};
use super::auth::audit::{self, Entry};
use super::jobs::{NewJob, enqueue};
use super::schema::{agent_versions, agents, deployments, workspaces};
use super::{ServiceError, Services, access, events};
use types::account::Role;
use types::account::Scope;
use types::deploy::{CreateDeployment, Deployment, DeploymentEvent, DeploymentStatus};
use types::manifest::Manifest;
use types::market::AgentRef;
use types::topic::Topic;
use types::{AgentId, DeploymentId, WorkspaceId};

/// The job kind that builds, starts and health-checks a deployment.
pub const DEPLOY_JOB: &str = "deployment.deploy";
/// The job kind that stops one.
pub const STOP_JOB: &str = "deployment.stop";
/// Deploy jobs go before bulk work.
const DEPLOY_PRIORITY: i16 = 10;
const MAX_NAME_CHARS: usize = 80;
const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// A workspace's deployments listed at once.
const LIST_LIMIT: i64 = 200;

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

/// Creates a deployment of a visible agent's published version in a
/// workspace where the caller is at least a member, and queues its deploy.
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    input: CreateDeployment,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let config = input.config.unwrap_or_default();
    check_config(&config)?;
    let secrets: super::secrets::Changes = input
        .secrets
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, Some(value)))
        .collect();
    super::secrets::check(&secrets)?;
    let sealer = match (secrets.is_empty(), &services.secrets) {
        (true, _) => None,
        (false, Some(sealer)) => Some(std::sync::Arc::clone(sealer)),
        (false, None) => {
            return Err(ServiceError::Unavailable(
                "this server has no key to keep secrets with".into(),
            ));
        }
    };
    let mut conn = services.conn().await?;
    let workspace = match (input.workspace.as_deref().map(str::trim), actor) {
        (None | Some(""), Actor::ApiKey { workspace_id, .. }) => *workspace_id,
        (None | Some(""), _) => access::personal_workspace(&mut conn, user).await?,
        (Some(slug), _) => {
            let id: Uuid = workspaces::table
                .filter(workspaces::slug.eq(slug))
                .select(workspaces::id)
                .first(&mut conn)
                .await
                .optional()?
                .ok_or(ServiceError::NotFound { what: "workspace" })?;
            WorkspaceId(id)
        }
    };
    access::require_role(&mut conn, actor, workspace, Role::Member).await?;
    let (agent, _) = market::visible(&mut conn, actor, input.agent.trim()).await?;
    let (version_id, version) = version_of(&mut conn, &agent, input.version.as_deref()).await?;
    let name = match input.name.as_deref().map(str::trim) {
        None | Some("") => agent.name.clone(),
        Some(name) if name.chars().count() > MAX_NAME_CHARS => {
            return Err(ServiceError::invalid(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        Some(name) => name.to_owned(),
    };
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let record: DeploymentRecord = diesel::insert_into(deployments::table)
                .values((
                    deployments::workspace_id.eq(workspace.0),
                    deployments::agent_id.eq(agent.id),
                    deployments::version_id.eq(version_id),
                    deployments::name.eq(&name),
                    deployments::config.eq(serde_json::Value::Object(config)),
                    deployments::created_by.eq(user.0),
                ))
                .returning(DeploymentRecord::as_returning())
                .get_result(conn)
                .await?;
            if let Some(sealer) = &sealer {
                super::secrets::store(conn, sealer, record.id, &secrets).await?;
            }
            announce(conn, &record, &version).await?;
            queue_deploy(conn, &record).await?;
            audit_deployment(
                conn,
                actor,
                meta,
                audit::action::DEPLOYMENT_CREATED,
                workspace,
                record.id,
                serde_json::json!({ "agent": agent.slug, "version": version }),
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(&mut conn, record).await
}

/// The deployments of the caller's workspaces (a key's own only), newest
/// first.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<Deployment>, ServiceError> {
    require_deploy_or_run_scope(actor)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let mut query = deployments::table
        .inner_join(
            super::schema::workspace_members::table
                .on(super::schema::workspace_members::workspace_id.eq(deployments::workspace_id)),
        )
        .filter(super::schema::workspace_members::user_id.eq(user.0))
        .filter(deployments::deleted_at.is_null())
        .into_boxed();
    if let Actor::ApiKey { workspace_id, .. } = actor {
        query = query.filter(deployments::workspace_id.eq(workspace_id.0));
    }
    let records: Vec<DeploymentRecord> = query
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .limit(LIST_LIMIT)
        .select(DeploymentRecord::as_select())
        .load(&mut conn)
        .await?;
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        views.push(view(&mut conn, record).await?);
    }
    Ok(views)
}

/// Keys that look at deployments hold `deployments:write` or `runs:write`.
fn require_deploy_or_run_scope(actor: &Actor) -> Result<(), ServiceError> {
    actor
        .check_key_scope(Scope::DeploymentsWrite)
        .or_else(|_| actor.check_key_scope(Scope::RunsWrite))
}

/// One deployment the caller may see (any role in its workspace).
pub async fn show(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<Deployment, ServiceError> {
    require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, id).await?;
    view(&mut conn, record).await
}

/// What the caller can do to a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Stop,
    Start,
    Restart,
    Delete,
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
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let record = lock(conn, record.id).await?;
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
    let agent: AgentRecord = agents::table
        .find(record.agent_id)
        .select(AgentRecord::as_select())
        .first(&mut conn)
        .await?;
    let (version_id, label) = version_of(&mut conn, &agent, Some(version)).await?;
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let record = lock(conn, record.id).await?;
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

/// Sets or removes secrets of a deployment (members and up). Runs started
/// from now on get the new values; the values are never shown again.
pub async fn change_secrets(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    changes: super::secrets::Changes,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    super::secrets::check(&changes)?;
    let sealer = services.secrets.clone().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        lock(conn, record.id).await?;
        super::secrets::store(conn, &sealer, record.id, &changes).await?;
        let count = super::secrets::names(conn, record.id).await?.len();
        if count > super::secrets::MAX_SECRETS {
            return Err(ServiceError::invalid(
                "secrets",
                format!("at most {}", super::secrets::MAX_SECRETS),
            ));
        }
        let names: Vec<&String> = changes.keys().collect();
        audit_deployment(
            conn,
            actor,
            meta,
            audit::action::DEPLOYMENT_SECRETS_CHANGED,
            WorkspaceId(record.workspace_id),
            record.id,
            serde_json::json!({ "names": names }),
        )
        .await
    })
    .await?;
    view(&mut conn, record).await
}

/// Replaces a deployment's config (members and up). Runs started from now
/// on see the new values; the running deployment is not restarted.
pub async fn change_config(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    config: serde_json::Map<String, serde_json::Value>,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    check_config(&config)?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    let keys: Vec<&String> = config.keys().collect();
    let details = serde_json::json!({ "keys": keys });
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            lock(conn, record.id).await?;
            let record: DeploymentRecord = diesel::update(deployments::table.find(record.id))
                .set((
                    deployments::config.eq(serde_json::Value::Object(config.clone())),
                    deployments::updated_at.eq(diesel::dsl::now),
                ))
                .returning(DeploymentRecord::as_returning())
                .get_result(conn)
                .await?;
            audit_deployment(
                conn,
                actor,
                meta,
                audit::action::DEPLOYMENT_CONFIG_CHANGED,
                WorkspaceId(record.workspace_id),
                record.id,
                details,
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(&mut conn, record).await
}

/// Sets or lifts a deployment's monthly spend cap (admins and owners of its
/// workspace: a member could otherwise lift the limit set on them).
pub async fn change_spend_cap(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    cap: Option<i64>,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    super::spend::check_cap("monthly_credits", cap)?;
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, id).await?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(record.workspace_id),
        Role::Admin,
    )
    .await?;
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            lock(conn, record.id).await?;
            let record: DeploymentRecord = diesel::update(deployments::table.find(record.id))
                .set((
                    deployments::spend_cap_credits.eq(cap),
                    deployments::updated_at.eq(diesel::dsl::now),
                ))
                .returning(DeploymentRecord::as_returning())
                .get_result(conn)
                .await?;
            audit_deployment(
                conn,
                actor,
                meta,
                audit::action::DEPLOYMENT_SPEND_CAP_CHANGED,
                WorkspaceId(record.workspace_id),
                record.id,
                serde_json::json!({ "monthly_credits": cap }),
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(&mut conn, record).await
}

/// What a deploy job needs: the deployment as of its generation, and the
/// version's source and manifest. None when the job is stale (a newer
/// deploy, a stop or a delete came after it) or the deployment is settled.
pub struct DeployWork {
    pub record: DeploymentRecord,
    pub version: String,
    pub source: Option<String>,
    pub manifest: Manifest,
    pub sha256: Option<String>,
}

pub async fn deploy_work(
    services: &Services,
    id: Uuid,
    generation: i32,
) -> Result<Option<DeployWork>, ServiceError> {
    let mut conn = services.conn().await?;
    let record: Option<DeploymentRecord> = deployments::table
        .find(id)
        .filter(deployments::generation.eq(generation))
        .filter(deployments::deleted_at.is_null())
        .select(DeploymentRecord::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let Some(record) = record else {
        return Ok(None);
    };
    if record.status().is_settled() || record.status() == DeploymentStatus::Stopping {
        return Ok(None);
    }
    let (version, source, manifest, sha256): (
        String,
        Option<String>,
        serde_json::Value,
        Option<String>,
    ) = agent_versions::table
        .find(record.version_id)
        .select((
            agent_versions::version,
            agent_versions::source,
            agent_versions::manifest,
            agent_versions::artifact_hash,
        ))
        .first(&mut conn)
        .await?;
    Ok(Some(DeployWork {
        record,
        version,
        source,
        manifest: manifest_from(manifest)?,
        sha256,
    }))
}

/// Moves deployment `id` of `generation` to `status` (with a reason for
/// failures) and announces it; false when the generation is no longer
/// current (nothing changes then).
pub async fn advance(
    services: &Services,
    id: Uuid,
    generation: i32,
    status: DeploymentStatus,
    reason: Option<String>,
) -> Result<bool, ServiceError> {
    let mut conn = services.conn().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let record: Option<DeploymentRecord> = deployments::table
            .find(id)
            .filter(deployments::generation.eq(generation))
            .filter(deployments::deleted_at.is_null())
            .for_update()
            .select(DeploymentRecord::as_select())
            .first(conn)
            .await
            .optional()?;
        let Some(record) = record else {
            return Ok(false);
        };
        if record.status() == status {
            return Ok(true);
        }
        let record = set_status(conn, &record, status, reason, false).await?;
        let version = version_label(conn, record.version_id).await?;
        announce(conn, &record, &version).await?;
        Ok(true)
    })
    .await
}

/// A line of the pipeline's log on the deployment's topic.
pub async fn log(
    services: &Services,
    id: Uuid,
    level: &str,
    message: String,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let event = DeploymentEvent::Log {
        level: level.to_owned(),
        message,
        run: None,
        at: Utc::now(),
    };
    events::publish(&mut conn, topic(id), &to_value(&event)?).await?;
    Ok(())
}

async fn set_status(
    conn: &mut AsyncPgConnection,
    record: &DeploymentRecord,
    status: DeploymentStatus,
    reason: Option<String>,
    new_generation: bool,
) -> Result<DeploymentRecord, ServiceError> {
    let generation = record.generation + i32::from(new_generation);
    Ok(diesel::update(deployments::table.find(record.id))
        .set((
            deployments::status.eq(status.as_str()),
            deployments::status_reason.eq(reason),
            deployments::generation.eq(generation),
            deployments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(DeploymentRecord::as_returning())
        .get_result(conn)
        .await?)
}

/// Publishes the record's status on its topic.
async fn announce(
    conn: &mut AsyncPgConnection,
    record: &DeploymentRecord,
    version: &str,
) -> Result<(), ServiceError> {
    let event = DeploymentEvent::Status {
        status: record.status(),
        reason: record.status_reason.clone(),
        generation: record.generation,
        version: version.to_owned(),
        at: Utc::now(),
    };
    events::publish(conn, topic(record.id), &to_value(&event)?).await?;
    Ok(())
}

fn job_payload(record: &DeploymentRecord) -> serde_json::Value {
    serde_json::json!({ "deployment": record.id, "generation": record.generation })
}

async fn queue_deploy(
    conn: &mut AsyncPgConnection,
    record: &DeploymentRecord,
) -> Result<(), ServiceError> {
    enqueue(
        conn,
        NewJob::new(DEPLOY_JOB, job_payload(record))
            .priority(DEPLOY_PRIORITY)
            .max_attempts(5)
            .unique(format!("deploy:{}:{}", record.id, record.generation)),
    )
    .await?;
    Ok(())
}

fn to_value(event: &DeploymentEvent) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(event)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("event: {error}")))
}

fn check_config(config: &serde_json::Map<String, serde_json::Value>) -> Result<(), ServiceError> {
    let size = serde_json::to_string(config)
        .map(|text| text.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(ServiceError::invalid(
            "config",
            "must be at most 64 KiB of JSON",
        ));
    }
    if let Some((key, _)) = config.iter().find(|(_, value)| !value.is_string()) {
        return Err(ServiceError::invalid(
            "config",
            format!("values are text; {key:?} is not"),
        ));
    }
    Ok(())
}

/// The published version `wanted` (the newest when None) of `agent`.
async fn version_of(
    conn: &mut AsyncPgConnection,
    agent: &AgentRecord,
    wanted: Option<&str>,
) -> Result<(Uuid, String), ServiceError> {
    let mut query = agent_versions::table
        .filter(agent_versions::agent_id.eq(agent.id))
        .select((agent_versions::id, agent_versions::version))
        .order(newest_first())
        .into_boxed();
    if let Some(wanted) = wanted.map(str::trim).filter(|v| !v.is_empty()) {
        query = query.filter(agent_versions::version.eq(wanted.to_owned()));
    }
    query
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| match wanted {
            Some(wanted) => ServiceError::invalid(
                "version",
                format!("{wanted} is not a published version of this agent"),
            ),
            None => ServiceError::Conflict {
                field: "agent",
                message: "this agent has no published version to deploy".to_owned(),
            },
        })
}

async fn version_label(
    conn: &mut AsyncPgConnection,
    version_id: Uuid,
) -> Result<String, ServiceError> {
    Ok(agent_versions::table
        .find(version_id)
        .select(agent_versions::version)
        .first(conn)
        .await?)
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

async fn visible(
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
async fn audit_deployment(
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

async fn editable(
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
    let (slug, name, owner, price): (String, String, Uuid, i64) = agents::table
        .find(record.agent_id)
        .select((
            agents::slug,
            agents::name,
            agents::workspace_id,
            agents::price_credits,
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
