//! Putting work on the job queue, and the queue as administrators see it.
//!
//! Jobs are enqueued on the caller's connection, so a job and the change
//! that needs it (a deployment row and its deploy job) commit together or
//! not at all. The server's workers (`server::jobs`) take them from there.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::actor::Actor;
use super::schema::{jobs, users};
use super::{ServiceError, Services};
use types::jobs::{DeadJob, KindDepth, QueueOverview};

/// How many dead jobs the overview lists.
const DEAD_SHOWN: i64 = 50;

/// A job to enqueue: `kind` names its handler, `payload` is its input.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub priority: i16,
    pub max_attempts: i32,
    pub run_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self {
            kind,
            payload,
            priority: 0,
            max_attempts: 8,
            run_at: None,
            unique_key: None,
        }
    }

    /// Higher runs first; the default is 0.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.clamp(1, 100);
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// While a job with this key is queued or running, enqueueing another
    /// does nothing.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// Adds `job`; answers its id, or `None` when a live job has its unique key.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    job: NewJob,
) -> Result<Option<i64>, ServiceError> {
    let id = diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(job.kind),
            jobs::payload.eq(job.payload),
            jobs::priority.eq(job.priority),
            jobs::max_attempts.eq(job.max_attempts),
            jobs::run_at.eq(job.run_at.unwrap_or_else(Utc::now)),
            jobs::unique_key.eq(job.unique_key),
        ))
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result::<i64>(conn)
        .await
        .optional()?;
    Ok(id)
}

/// Platform administrators only: signed in, in a browser, marked admin.
pub async fn require_admin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let user = actor.require_session()?;
    let admin: bool = users::table
        .find(user.0)
        .select(users::is_admin)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(false);
    if admin {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "only platform administrators may see this".to_owned(),
        ))
    }
}

#[derive(QueryableByName)]
struct DepthRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    ready: i64,
    #[diesel(sql_type = BigInt)]
    scheduled: i64,
    #[diesel(sql_type = BigInt)]
    running: i64,
    #[diesel(sql_type = BigInt)]
    retrying: i64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    oldest_ready_seconds: Option<f64>,
}

/// Depth per kind and the newest dead jobs.
pub async fn overview(services: &Services, actor: &Actor) -> Result<QueueOverview, ServiceError> {
    let mut conn = services.conn().await?;
    require_admin(&mut conn, actor).await?;
    let kinds = diesel::sql_query(
        "SELECT kind, \
                count(*) FILTER (WHERE state = 'queued' AND run_at <= now()) AS ready, \
                count(*) FILTER (WHERE state = 'queued' AND run_at > now()) AS scheduled, \
                count(*) FILTER (WHERE state = 'running') AS running, \
                count(*) FILTER (WHERE state = 'queued' AND attempts > 0) AS retrying, \
                count(*) FILTER (WHERE state = 'dead') AS dead, \
                extract(epoch FROM now() - min(run_at) FILTER \
                    (WHERE state = 'queued' AND run_at <= now()))::float8 AS oldest_ready_seconds \
         FROM jobs GROUP BY kind ORDER BY kind",
    )
    .load::<DepthRow>(&mut conn)
    .await?
    .into_iter()
    .map(|row| KindDepth {
        kind: row.kind,
        ready: row.ready,
        scheduled: row.scheduled,
        running: row.running,
        retrying: row.retrying,
        dead: row.dead,
        oldest_ready_seconds: row.oldest_ready_seconds,
    })
    .collect();
    let dead = jobs::table
        .filter(jobs::state.eq("dead"))
        .order((jobs::updated_at.desc(), jobs::id.desc()))
        .limit(DEAD_SHOWN)
        .select((
            jobs::id,
            jobs::kind,
            jobs::attempts,
            jobs::last_error,
            jobs::created_at,
            jobs::updated_at,
        ))
        .load::<(
            i64,
            String,
            i32,
            Option<String>,
            DateTime<Utc>,
            DateTime<Utc>,
        )>(&mut conn)
        .await?
        .into_iter()
        .map(
            |(id, kind, attempts, last_error, created_at, died_at)| DeadJob {
                id,
                kind,
                attempts,
                last_error,
                created_at,
                died_at,
            },
        )
        .collect();
    Ok(QueueOverview { kinds, dead })
}

/// Queues a dead job again with fresh attempts (after the cause is fixed).
pub async fn retry_dead(services: &Services, actor: &Actor, id: i64) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    require_admin(&mut conn, actor).await?;
    let updated = diesel::update(jobs::table.find(id).filter(jobs::state.eq("dead")))
        .set((
            jobs::state.eq("queued"),
            jobs::attempts.eq(0),
            jobs::giving_up.eq(false),
            jobs::run_at.eq(diesel::dsl::now),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await
        .map_err(|error| match error {
            // Another job with its key was enqueued since it died.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ServiceError::Conflict {
                field: "id",
                message: "a newer job with the same key is queued or running".to_owned(),
            },
            other => ServiceError::from(other),
        })?;
    if updated == 0 {
        return Err(ServiceError::NotFound { what: "dead job" });
    }
    // Only inserts wake workers by themselves.
    diesel::sql_query("SELECT pg_notify('agentdeck_jobs', '')")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Forgets a dead job.
pub async fn discard_dead(services: &Services, actor: &Actor, id: i64) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    require_admin(&mut conn, actor).await?;
    let deleted = diesel::delete(jobs::table.find(id).filter(jobs::state.eq("dead")))
        .execute(&mut conn)
        .await?;
    if deleted == 0 {
        return Err(ServiceError::NotFound { what: "dead job" });
    }
    Ok(())
}
