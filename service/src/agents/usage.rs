//! Usage counted from the runs: a roll-up, not a write per run.
//!
//! Ending a run stamps it with the ending transaction's id (a trigger,
//! migration 000026). [`roll_up`] counts the runs stamped since the last
//! roll-up and below the oldest transaction still open (all of those have
//! ended, so each is seen exactly once, whatever the clocks say), adds them
//! to their agents' `runs_count` and `runs_succeeded` (one update per agent
//! per roll-up, so a busy agent's listing and its search indexes are not
//! rewritten per run) and to per-deployment daily counts, from which
//! [`week`] reads the creator's weekly numbers. The server rolls up every
//! minute; two servers take turns on the roll-up's row.
//!
//! Only others' runs count: an agent's own workspace runs it free, and its
//! runs would let a creator climb Popular (and set its success rate) at no
//! cost. The bound is the oldest transaction open in the whole cluster: a
//! session left idle in a transaction delays the counts (never loses or
//! doubles them) until it ends.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use uuid::Uuid;

use crate::{ServiceError, Services};
use types::market::AgentUsage;

/// What a roll-up counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, QueryableByName)]
pub struct RolledUp {
    /// Runs that ended since the last roll-up (succeeded, failed or timed out).
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    /// Agents whose counts moved.
    #[diesel(sql_type = BigInt)]
    pub agents: i64,
}

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = Text)]
    counted_below: String,
}

/// Counts what ended since the last roll-up, once. The roll-up's row is
/// locked first, so the counting statement's snapshot (and the bound it
/// takes from it) comes after any other roll-up committed.
const COUNT: &str = "\
WITH bound AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS below),
ended AS (
    SELECT r.deployment_id, (r.finished_at AT TIME ZONE 'UTC')::date AS day, d.agent_id,
           count(*) AS runs, count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded
    FROM runs r
    JOIN deployments d ON d.id = r.deployment_id
    JOIN agents a ON a.id = d.agent_id
    CROSS JOIN bound
    WHERE r.ended_xid >= $1::xid8 AND r.ended_xid < bound.below
      AND r.status IN ('succeeded', 'failed', 'timed_out')
      AND r.workspace_id <> a.workspace_id
    GROUP BY 1, 2, 3
),
days AS (
    INSERT INTO deployment_usage_days AS u (deployment_id, day, agent_id, runs, succeeded)
    SELECT deployment_id, day, agent_id, runs, succeeded FROM ended
    ORDER BY deployment_id, day
    ON CONFLICT (deployment_id, day) DO UPDATE
        SET runs = u.runs + EXCLUDED.runs, succeeded = u.succeeded + EXCLUDED.succeeded
),
moved AS (
    UPDATE agents a
    SET runs_count = a.runs_count + t.runs, runs_succeeded = a.runs_succeeded + t.succeeded
    FROM (SELECT agent_id, sum(runs)::bigint AS runs, sum(succeeded)::bigint AS succeeded
          FROM ended GROUP BY agent_id) AS t
    WHERE a.id = t.agent_id
    RETURNING t.runs
),
marked AS (
    UPDATE usage_rollup SET counted_below = greatest(counted_below, bound.below),
                            rolled_up_at = now()
    FROM bound
)
SELECT coalesce(sum(runs), 0)::bigint AS runs, count(*)::bigint AS agents FROM moved";

/// Adds the runs that ended since the last roll-up to their agents' and
/// deployments' counts.
pub async fn roll_up(services: &Services) -> Result<RolledUp, ServiceError> {
    let mut conn = services.conn().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let mark: Mark = diesel::sql_query(
            "SELECT counted_below::text AS counted_below FROM usage_rollup FOR UPDATE",
        )
        .get_result(conn)
        .await?;
        let counted: RolledUp = diesel::sql_query(COUNT)
            .bind::<Text, _>(mark.counted_below)
            .get_result(conn)
            .await?;
        Ok(counted)
    })
    .await
}

#[derive(QueryableByName)]
struct Week {
    #[diesel(sql_type = BigInt)]
    active_deployments: i64,
    #[diesel(sql_type = BigInt)]
    runs: i64,
    #[diesel(sql_type = BigInt)]
    succeeded: i64,
}

/// The agent's last seven days (today, UTC, and the six before) as rolled
/// up: deployments with at least one run, and their runs.
pub(crate) async fn week(
    conn: &mut AsyncPgConnection,
    agent: Uuid,
) -> Result<AgentUsage, ServiceError> {
    let week: Week = diesel::sql_query(
        "SELECT count(DISTINCT deployment_id) AS active_deployments, \
                coalesce(sum(runs), 0)::bigint AS runs, \
                coalesce(sum(succeeded), 0)::bigint AS succeeded \
         FROM deployment_usage_days \
         WHERE agent_id = $1 AND day > (now() AT TIME ZONE 'UTC')::date - 7",
    )
    .bind::<SqlUuid, _>(agent)
    .get_result(conn)
    .await?;
    Ok(AgentUsage {
        weekly_active_deployments: week.active_deployments,
        runs_this_week: week.runs,
        succeeded_this_week: week.succeeded,
    })
}
