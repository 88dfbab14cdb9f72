//! Reading runs: one run (for members of its workspace), a deployment's
//! runs, the newest across the caller's deployments, per-minute metrics.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::deployments::{self};
use crate::schema::{deployments as deployment_rows, runs};
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::Scope;
use types::deploy::{Run, RunStatus, RunSummary};

use super::RunRecord;
use super::RunSummaryRecord;

pub(super) const LIST_LIMIT: i64 = 100;
/// One run the caller may see.
pub async fn get(services: &Services, actor: &Actor, run_id: Uuid) -> Result<Run, ServiceError> {
    actor.check_key_scope(Scope::RunsRead)?;
    get_unscoped(services, actor, run_id).await
}

/// `get` for a caller whose scope was checked otherwise (MCP: its own
/// calls).
pub(crate) async fn get_unscoped(
    services: &Services,
    actor: &Actor,
    run_id: Uuid,
) -> Result<Run, ServiceError> {
    let mut conn = services.conn().await?;
    visible(&mut conn, actor, run_id).await.map(RunRecord::view)
}

pub(super) async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    run_id: Uuid,
) -> Result<RunRecord, ServiceError> {
    let record: RunRecord = runs::table
        .find(run_id)
        .select(RunRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "run" })?;
    access::member(conn, actor, WorkspaceId(record.workspace_id))
        .await
        .map_err(|error| match error {
            ServiceError::Unauthenticated => error,
            _ => ServiceError::NotFound { what: "run" },
        })?;
    Ok(record)
}

/// A deployment's runs, newest first, optionally of one status.
pub async fn list(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
    status: Option<&str>,
) -> Result<Vec<RunSummary>, ServiceError> {
    actor.check_key_scope(Scope::RunsRead)?;
    let mut conn = services.conn().await?;
    deployments::visible_record(&mut conn, actor, deployment).await?;
    let mut query = runs::table
        .filter(runs::deployment_id.eq(deployment))
        .select(RunSummaryRecord::as_select())
        .order((runs::created_at.desc(), runs::id.desc()))
        .limit(LIST_LIMIT)
        .into_boxed();
    if let Some(status) = status.filter(|s| !s.is_empty()) {
        let status = RunStatus::parse(status).ok_or_else(|| {
            ServiceError::invalid(
                "status",
                "must be queued, running, succeeded, failed, timed_out or cancelled",
            )
        })?;
        query = query.filter(runs::status.eq(status.as_str()));
    }
    Ok(query
        .load(&mut conn)
        .await?
        .into_iter()
        .map(RunSummaryRecord::view)
        .collect())
}

/// The newest runs of all the caller's deployments (a key's own
/// workspace only), newest first: the dashboard's feed. Each workspace's
/// newest come from its index, then the newest of those are kept.
pub async fn recent(services: &Services, actor: &Actor) -> Result<Vec<RunSummary>, ServiceError> {
    use crate::schema::workspace_members;
    actor.check_key_scope(Scope::RunsRead)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let workspaces: Vec<Uuid> = match actor {
        Actor::ApiKey { workspace_id, .. } => {
            workspace_members::table
                .filter(workspace_members::user_id.eq(user.0))
                .filter(workspace_members::workspace_id.eq(workspace_id.0))
                .select(workspace_members::workspace_id)
                .load(&mut conn)
                .await?
        }
        _ => {
            workspace_members::table
                .filter(workspace_members::user_id.eq(user.0))
                .select(workspace_members::workspace_id)
                .load(&mut conn)
                .await?
        }
    };
    let mut newest: Vec<RunSummaryRecord> = Vec::new();
    for workspace in workspaces {
        let records: Vec<RunSummaryRecord> = runs::table
            .inner_join(deployment_rows::table.on(deployment_rows::id.eq(runs::deployment_id)))
            .filter(runs::workspace_id.eq(workspace))
            .filter(deployment_rows::deleted_at.is_null())
            .select(RunSummaryRecord::as_select())
            .order((runs::created_at.desc(), runs::id.desc()))
            .limit(RECENT_LIMIT)
            .load(&mut conn)
            .await?;
        newest.extend(records);
    }
    newest.sort_by_key(|run| std::cmp::Reverse((run.created_at, run.id)));
    newest.truncate(RECENT_LIMIT as usize);
    Ok(newest.into_iter().map(RunSummaryRecord::view).collect())
}

/// How many runs the dashboard's feed starts with.
pub(super) const RECENT_LIMIT: i64 = 20;

/// Runs per minute of a deployment over the last `minutes` (1 to 1440):
/// how many finished, how many failed, and the median and 95th percentile
/// of their durations.
pub async fn metrics(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
    minutes: i32,
) -> Result<types::deploy::DeploymentMetrics, ServiceError> {
    use diesel::sql_types::{BigInt, Integer, Nullable, Timestamptz};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Timestamptz)]
        minute: chrono::DateTime<Utc>,
        #[diesel(sql_type = BigInt)]
        runs: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        p50_us: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        p95_us: Option<i64>,
    }
    if !(1..=1440).contains(&minutes) {
        return Err(ServiceError::invalid("minutes", "must be from 1 to 1440"));
    }
    actor.check_key_scope(Scope::RunsRead)?;
    let mut conn = services.conn().await?;
    deployments::visible_record(&mut conn, actor, deployment).await?;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT date_trunc('minute', finished_at) AS minute, count(*) AS runs, \
                count(*) FILTER (WHERE status <> 'succeeded') AS failed, \
                percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_us) AS p50_us, \
                percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_us) AS p95_us \
         FROM runs \
         WHERE deployment_id = $1 AND finished_at IS NOT NULL \
           AND finished_at >= date_trunc('minute', now()) - make_interval(mins => $2 - 1) \
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(deployment)
    .bind::<Integer, _>(minutes)
    .load(&mut conn)
    .await?;
    Ok(types::deploy::DeploymentMetrics {
        minutes,
        buckets: rows
            .into_iter()
            .map(|row| types::deploy::MetricsBucket {
                minute: row.minute,
                runs: row.runs,
                failed: row.failed,
                p50_us: row.p50_us,
                p95_us: row.p95_us,
            })
            .collect(),
    })
}
