//! The deploy pipeline's steps as the deploy job drives them: the work of
//! a generation, status changes with their events, and the timeline log.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::agents::{AgentRecord, manifest_from, newest_first};
use crate::jobs::{NewJob, enqueue};
use crate::schema::{agent_versions, deployments};
use crate::{ServiceError, Services, events};
use types::deploy::{DeploymentEvent, DeploymentStatus};
use types::manifest::Manifest;

use super::DEPLOY_JOB;
use super::DeploymentRecord;
use super::to_value;
use super::topic;

/// Deploy jobs go before bulk work.
pub(super) const DEPLOY_PRIORITY: i16 = 10;
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

pub(super) async fn set_status(
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
pub(super) async fn announce(
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

pub(super) fn job_payload(record: &DeploymentRecord) -> serde_json::Value {
    serde_json::json!({ "deployment": record.id, "generation": record.generation })
}

pub(super) async fn queue_deploy(
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

/// The published version `wanted` (the newest when None) of `agent`.
pub(super) async fn version_of(
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

pub(super) async fn version_label(
    conn: &mut AsyncPgConnection,
    version_id: Uuid,
) -> Result<String, ServiceError> {
    Ok(agent_versions::table
        .find(version_id)
        .select(agent_versions::version)
        .first(conn)
        .await?)
}
