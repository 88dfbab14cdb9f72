//! A worker: claims due jobs in batches, runs each under a lease it keeps
//! renewing, records outcomes in batches, and takes over jobs whose worker
//! died.
//!
//! - Waking: a dedicated connection LISTENs on `agentdeck_jobs` (every
//!   insert notifies at commit), with a poll as the fallback for retries
//!   coming due and for a lost listener connection.
//! - Claiming: one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED
//!   LIMIT n)` takes up to the free capacity, highest priority first, so
//!   workers in any number of processes never wait on each other.
//! - Leases: every third of the lease, one statement renews all of this
//!   worker's jobs and requeues any job whose lease ran out (its worker was
//!   killed). An attempt that never reported still counts.
//! - Outcomes: successes are deleted in one statement per batch; a failure
//!   is queued again after an exponential backoff with jitter, or, with its
//!   attempts used up, queued once more for its handler's `give_up`, after
//!   which it rests as `dead`.
//! - Stopping: no new claims; running jobs get a grace period, and what is
//!   still running then is handed back without counting the attempt.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{
    AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _,
};
use futures::{FutureExt as _, StreamExt as _};
use service::DbPool;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use super::{Job, JobError, JobResult, Registry};

/// How many times `give_up` is tried before the job is left dead anyway.
const GIVE_UP_ATTEMPTS: i32 = 3;
/// Outcomes written in one statement at most.
const OUTCOME_BATCH: usize = 1024;
const BACKOFF_FIRST_SECS: f64 = 1.0;
const BACKOFF_MAX_SECS: f64 = 3600.0;
/// The shortest time between two claims of one worker.
const CLAIM_COOLDOWN: Duration = Duration::from_millis(2);
const LISTEN_RETRY: Duration = Duration::from_secs(1);
/// How often the listening connection is checked.
const LISTENER_CHECK: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// How long a claimed job stays this worker's without a renewal.
    pub lease: Duration,
    /// Longest wait between looks at the queue when nothing wakes it.
    pub poll: Duration,
    /// How long running jobs get to finish when the worker stops.
    pub grace: Duration,
    /// When a job's `run_at` has come (the services' clock; leases are
    /// real time).
    pub clock: service::clock::Clock,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            clock: service::clock::Clock::system(),
        }
    }
}

pub struct Worker {
    id: String,
    pool: DbPool,
    database_url: String,
    registry: Arc<Registry>,
    config: WorkerConfig,
}

#[derive(diesel::QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Integer)]
    max_attempts: i32,
    #[diesel(sql_type = Bool)]
    giving_up: bool,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

impl Worker {
    pub fn new(
        pool: DbPool,
        database_url: impl Into<String>,
        registry: Registry,
        config: WorkerConfig,
    ) -> Self {
        let id = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            id,
            pool,
            database_url: database_url.into(),
            registry: Arc::new(registry),
            config,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `stop` turns true, then finishes as described above.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let wake = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(
            this.database_url.clone(),
            Arc::clone(&wake),
            stop.clone(),
        ));
        let leases = tokio::spawn(Arc::clone(&this).keep_leases(stop.clone()));
        let (outcomes, outcome_rx) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(Arc::clone(&this).record_outcomes(outcome_rx));
        let capacity = Arc::new(Semaphore::new(this.config.concurrency.max(1)));
        let kinds = this.registry.kinds();
        tracing::info!(worker = %this.id, ?kinds, "job worker started");

        let mut tasks = tokio::task::JoinSet::new();
        let mut failures: u32 = 0;
        let concurrency = this.config.concurrency.max(1);
        let half = u32::try_from(concurrency.div_ceil(2)).unwrap_or(u32::MAX);
        let mut last_claim = tokio::time::Instant::now();
        let mut claimer = None;
        while !*stop.borrow() {
            while tasks.try_join_next().is_some() {}
            if capacity.available_permits() == 0 {
                tokio::select! {
                    permit = capacity.acquire() => drop(permit),
                    _ = stop.changed() => {}
                }
                continue;
            }
            // Under load, claim in batches rather than a job (and a commit)
            // at a time: at most one claim per cooldown, and with jobs
            // running, wait that long for half the capacity to be free.
            tokio::time::sleep_until(last_claim + CLAIM_COOLDOWN).await;
            if capacity.available_permits() < concurrency / 2 {
                let _ = tokio::time::timeout(CLAIM_COOLDOWN, capacity.acquire_many(half)).await;
            }
            last_claim = tokio::time::Instant::now();
            let free = capacity.available_permits();
            let claimed = match this.claim(&mut claimer, &kinds, free).await {
                Ok(claimed) => {
                    failures = 0;
                    claimed
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, "claiming jobs failed");
                    let pause = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            let full = claimed.len() == free;
            for job in claimed {
                let Ok(permit) = Arc::clone(&capacity).try_acquire_owned() else {
                    break;
                };
                let outcomes = outcomes.clone();
                let handler = this.registry.get(&job.kind);
                tasks.spawn(async move {
                    let result = execute(handler, job.clone()).await;
                    // The recorder outlives every job: it stops only when
                    // every sender, this one included, is gone.
                    let _ = outcomes.send((job, result));
                    drop(permit);
                });
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = this.config.clock.moved() => {}
                _ = tokio::time::sleep(this.config.poll) => {}
                _ = stop.changed() => {}
            }
        }

        // Stopping: let running jobs finish within the grace period, then
        // record what finished and hand back the rest.
        let finished = tokio::time::timeout(this.config.grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.shutdown().await;
        drop(outcomes);
        let _ = recorder.await;
        if finished.is_err() {
            match this.release().await {
                Ok(released) => tracing::info!(released, "handed back unfinished jobs"),
                Err(error) => tracing::warn!(%error, "handing back unfinished jobs failed"),
            }
        }
        let _ = leases.await;
        listener.abort();
        tracing::info!(worker = %this.id, "job worker stopped");
    }

    /// Claims on its own connection (`claimer`, opened when missing and
    /// dropped after an error), whose planner walks the ready index in
    /// order. The table's statistics lag behind a burst of jobs: planned
    /// for the few rows they showed, a claim from a backlog of 50,000 sorted
    /// all of them (15 ms) instead of reading the first few off the index.
    async fn claim(
        &self,
        claimer: &mut Option<AsyncPgConnection>,
        kinds: &[String],
        limit: usize,
    ) -> anyhow::Result<Vec<Job>> {
        let mut conn = match claimer.take() {
            Some(conn) => conn,
            None => {
                let mut conn = AsyncPgConnection::establish(&self.database_url).await?;
                conn.batch_execute(
                    "SET enable_sort = off; SET enable_bitmapscan = off; \
                     SET max_parallel_workers_per_gather = 0",
                )
                .await?;
                conn
            }
        };
        let rows: Vec<Claimed> = diesel::sql_query(
            "UPDATE jobs SET state = 'running', worker = $1, \
                 lease_until = now() + make_interval(secs => $2), \
                 attempts = attempts + 1, updated_at = now() \
             WHERE id IN (SELECT id FROM jobs \
                          WHERE state = 'queued' AND run_at <= greatest(now(), $5) \
                                AND kind = ANY($3) \
                          ORDER BY priority DESC, run_at, id LIMIT $4 \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, attempts, max_attempts, giving_up, last_error",
        )
        .bind::<Text, _>(&self.id)
        .bind::<Double, _>(self.config.lease.as_secs_f64())
        .bind::<Array<Text>, _>(kinds)
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind::<Timestamptz, _>(self.config.clock.now())
        .load(&mut conn)
        .await?;
        *claimer = Some(conn);
        Ok(rows
            .into_iter()
            .map(|row| Job {
                id: row.id,
                kind: row.kind,
                payload: row.payload,
                attempt: row.attempts,
                max_attempts: row.max_attempts,
                giving_up: row.giving_up,
                last_error: row.last_error,
            })
            .collect())
    }

    /// Renews this worker's leases and requeues jobs whose lease ran out,
    /// every third of the lease, until stopped.
    async fn keep_leases(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.config.lease / 3);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            if let Err(error) = self.renew_and_reap().await {
                tracing::warn!(%error, "renewing job leases failed");
            }
        }
    }

    async fn renew_and_reap(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "UPDATE jobs SET lease_until = now() + make_interval(secs => $2) \
             WHERE worker = $1 AND state = 'running'",
        )
        .bind::<Text, _>(&self.id)
        .bind::<Double, _>(self.config.lease.as_secs_f64())
        .execute(&mut conn)
        .await?;
        let reaped = diesel::sql_query(
            "UPDATE jobs SET worker = NULL, lease_until = NULL, updated_at = now(), run_at = now(), \
                 state = CASE WHEN giving_up AND attempts >= max_attempts + $1 \
                              THEN 'dead' ELSE 'queued' END, \
                 last_error = CASE WHEN giving_up THEN last_error \
                              ELSE 'the worker running attempt ' || attempts || ' stopped' END, \
                 giving_up = giving_up OR attempts >= max_attempts \
             WHERE state = 'running' AND lease_until < now()",
        )
        .bind::<Integer, _>(GIVE_UP_ATTEMPTS)
        .execute(&mut conn)
        .await?;
        if reaped > 0 {
            tracing::warn!(reaped, "took over jobs whose worker stopped");
        }
        Ok(())
    }

    /// Writes outcomes as they come, many per statement under load.
    async fn record_outcomes(
        self: Arc<Self>,
        mut outcomes: mpsc::UnboundedReceiver<(Job, JobResult)>,
    ) {
        let mut batch = Vec::new();
        while let Some(first) = outcomes.recv().await {
            batch.push(first);
            while batch.len() < OUTCOME_BATCH {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            // An outcome that cannot be written is not lost: the job's lease
            // runs out and it runs again, which handlers allow.
            if let Err(error) = self.record(&batch).await {
                tracing::warn!(%error, jobs = batch.len(), "recording job outcomes failed");
            }
            batch.clear();
        }
    }

    async fn record(&self, batch: &[(Job, JobResult)]) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        let (done, gave_up): (Vec<i64>, Vec<i64>) = {
            let mut done = Vec::new();
            let mut gave_up = Vec::new();
            for (job, result) in batch {
                if result.is_ok() {
                    if job.giving_up {
                        gave_up.push(job.id);
                    } else {
                        done.push(job.id);
                    }
                }
            }
            (done, gave_up)
        };
        if !done.is_empty() {
            diesel::sql_query("DELETE FROM jobs WHERE id = ANY($1) AND worker = $2")
                .bind::<Array<BigInt>, _>(&done)
                .bind::<Text, _>(&self.id)
                .execute(&mut conn)
                .await?;
        }
        if !gave_up.is_empty() {
            diesel::sql_query(
                "UPDATE jobs SET state = 'dead', worker = NULL, lease_until = NULL, \
                     updated_at = now() \
                 WHERE id = ANY($1) AND worker = $2",
            )
            .bind::<Array<BigInt>, _>(&gave_up)
            .bind::<Text, _>(&self.id)
            .execute(&mut conn)
            .await?;
        }
        for (job, result) in batch {
            let Err(error) = result else { continue };
            if job.giving_up {
                tracing::warn!(job = job.id, kind = %job.kind, error = error.message(),
                    "recording a job's failure failed");
            } else {
                tracing::info!(job = job.id, kind = %job.kind, attempt = job.attempt,
                    error = error.message(), "job attempt failed");
            }
            let permanent = matches!(error, JobError::Fail(_));
            diesel::sql_query(
                "UPDATE jobs SET worker = NULL, lease_until = NULL, updated_at = now(), \
                     state = CASE WHEN giving_up AND attempts >= max_attempts + $5 \
                                  THEN 'dead' ELSE 'queued' END, \
                     last_error = CASE WHEN giving_up THEN last_error ELSE $3 END, \
                     run_at = CASE WHEN giving_up OR $4 OR attempts >= max_attempts THEN now() \
                              ELSE greatest(now(), $7) + make_interval(secs => $6) END, \
                     giving_up = giving_up OR $4 OR attempts >= max_attempts \
                 WHERE id = $1 AND worker = $2 AND state = 'running'",
            )
            .bind::<BigInt, _>(job.id)
            .bind::<Text, _>(&self.id)
            .bind::<Text, _>(error.message())
            .bind::<Bool, _>(permanent)
            .bind::<Integer, _>(GIVE_UP_ATTEMPTS)
            .bind::<Double, _>(backoff_secs(job.attempt))
            .bind::<Timestamptz, _>(self.config.clock.now())
            .execute(&mut conn)
            .await?;
        }
        Ok(())
    }

    /// Hands this worker's running jobs back to the queue, the interrupted
    /// attempt not counted.
    async fn release(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await?;
        let released = diesel::sql_query(
            "UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL, \
                 attempts = greatest(attempts - 1, 0), run_at = now(), updated_at = now() \
             WHERE worker = $1 AND state = 'running'",
        )
        .bind::<Text, _>(&self.id)
        .execute(&mut conn)
        .await?;
        if released > 0 {
            diesel::sql_query("SELECT pg_notify('agentdeck_jobs', '')")
                .execute(&mut conn)
                .await?;
        }
        Ok(released)
    }
}

/// Runs the job's handler; a panic is an error of this attempt, not of the
/// worker.
async fn execute(handler: Option<Arc<dyn super::Handler>>, job: Job) -> JobResult {
    let Some(handler) = handler else {
        return Err(JobError::Fail(format!(
            "no handler for jobs of kind {}",
            job.kind
        )));
    };
    let work = if job.giving_up {
        let error = job.last_error.clone().unwrap_or_default();
        handler.give_up(job, error)
    } else {
        handler.run(job)
    };
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(_) => Err(JobError::Retry("the job's handler panicked".to_owned())),
    }
}

/// Seconds before attempt `attempt + 1`: doubling from one second, capped at
/// an hour, with ±25 % jitter so that jobs failing together spread out.
fn backoff_secs(attempt: i32) -> f64 {
    let exponent = attempt.saturating_sub(1).clamp(0, 30);
    let base = (BACKOFF_FIRST_SECS * 2f64.powi(exponent)).min(BACKOFF_MAX_SECS);
    let jitter = 0.75 + 0.5 * (f64::from(rand_u16()) / f64::from(u16::MAX));
    base * jitter
}

fn rand_u16() -> u16 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u16::from_le_bytes([bytes[0], bytes[1]])
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Wakes the claim loop on every notification, reconnecting when the
/// listening connection drops (and waking then too: something may have been
/// missed). The notification stream does not end when the connection dies,
/// so the connection is checked now and then.
async fn listen(database_url: String, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        match AsyncPgConnection::establish(&database_url).await {
            Ok(mut conn) => {
                match diesel::sql_query("LISTEN agentdeck_jobs")
                    .execute(&mut conn)
                    .await
                {
                    Ok(_) => loop {
                        wake.notify_one();
                        {
                            let mut notifications = std::pin::pin!(conn.notifications_stream());
                            let check = tokio::time::sleep(LISTENER_CHECK);
                            tokio::pin!(check);
                            loop {
                                tokio::select! {
                                    notification = notifications.next() => match notification {
                                        Some(Ok(_)) => wake.notify_one(),
                                        Some(Err(_)) | None => break,
                                    },
                                    _ = &mut check => break,
                                    _ = stop.wait_for(|stop| *stop) => return,
                                }
                            }
                        }
                        if let Err(error) = diesel::sql_query("SELECT 1").execute(&mut conn).await {
                            tracing::warn!(%error, "the job listener's connection failed");
                            break;
                        }
                    },
                    Err(error) => tracing::warn!(%error, "cannot LISTEN for jobs"),
                }
            }
            Err(error) => tracing::warn!(%error, "cannot connect to listen for jobs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(LISTEN_RETRY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}
