//! The fast path of a run: started in one statement and ended in one.
//!
//! The start statement checks access (a member and up, a key only in its
//! workspace), locks the deployment and checks it is running and under its
//! limit of runs in flight, prices the run, inserts it, queues its job (an
//! asynchronous run), publishes its status on both topics, holds its price
//! and moves the spend counters; it answers what executing the run needs,
//! so nothing is read back. The end statement records the outcome, its log
//! lines and status events, and settles or gives back the price.
//!
//! Each statement does all of it or nothing. Whenever one does nothing (no
//! access, not running, busy, a repeated idempotency key, a wallet or cap
//! it would pass, accounts not made yet, a lock conflict, another version
//! than the one the input was checked against), the caller takes
//! the slow path (`start.rs`, `execute.rs`): the transactions this path
//! replaces, which say exactly why, or do the work. So every answer and
//! every guarantee is the slow path's; this path only saves round trips.
//!
//! Locks are taken in the one order every path keeps: run, deployment,
//! event topics, ledger accounts, spend counters. In one statement that
//! holds because each step waits for the one before (`count(*)` of its
//! rows), ledger entries move their accounts' balances as they are
//! inserted (a BEFORE trigger), in account order, and the spend counters
//! are locked deployment first.

use diesel::QueryResult;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::AstPass;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ServiceError;
use crate::ledger::Billing;
use crate::sql::{self, Params, Statement};

use super::RunRecord;

/// What executing a run needs, from its start.
pub(super) struct Work {
    pub deployment: Uuid,
    pub agent: Uuid,
    pub name: String,
    pub config: serde_json::Value,
    pub source: Option<String>,
    pub manifest: serde_json::Value,
    pub sha256: Option<String>,
    /// Whether the deployment has secrets to open.
    pub has_secrets: bool,
    /// Why the input does not meet the input schema of the version about
    /// to run (read for a run not started on the fast path: the deployment
    /// may have been redeployed since its start checked it).
    pub refused: Option<String>,
}

/// A run to start.
pub(super) struct NewRun<'a> {
    pub id: Uuid,
    pub deployment: Uuid,
    /// The version whose input schema the input was checked against: the
    /// statement does nothing if the deployment runs another.
    pub version: Uuid,
    /// Whether the input met that schema: the statement does nothing if
    /// not (it runs either way, so that a stranger cannot tell the two
    /// apart by time).
    pub input_ok: bool,
    pub user: Uuid,
    pub key: Option<Uuid>,
    /// A key's workspace: the only one it may start runs in.
    pub key_workspace: Option<Uuid>,
    pub trigger: &'a str,
    /// What the agent reads as `ctx.trigger`'s details.
    pub trigger_details: Option<&'a serde_json::Value>,
    pub input: &'a serde_json::Value,
    pub idempotency_key: Option<&'a str>,
    pub asynchronous: bool,
    pub runner: Option<&'a str>,
    pub lease_until: Option<chrono::DateTime<chrono::Utc>>,
    pub max_running: i64,
    /// The `queued` or `running` event, for the run's and the
    /// deployment's topics.
    pub event: &'a serde_json::Value,
}

#[derive(QueryableByName)]
struct Started {
    #[diesel(embed)]
    run: RunRecord,
    #[diesel(sql_type = SqlUuid)]
    agent_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    deployment_name: String,
    #[diesel(sql_type = Jsonb)]
    deployment_config: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    source: Option<String>,
    #[diesel(sql_type = Jsonb)]
    manifest: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    artifact_hash: Option<String>,
    #[diesel(sql_type = Bool)]
    has_secrets: bool,
}

/// The columns of `RunRecord`, named (not `*`: a prepared statement's
/// result must keep its shape when a later migration adds a column).
macro_rules! run_columns {
    () => {
        "id, deployment_id, status, trigger, error, duration_us, fuel_used, peak_memory_bytes, \
         created_at, finished_at, price_credits, charged_credits, workspace_id, input, output, \
         logs, logs_truncated, api_key_id, llm_calls, llm_input_tokens, llm_output_tokens, \
         llm_credits, trigger_details, embed_id"
    };
}

/// The start statement; `$job` queues an asynchronous run's job (left out
/// for a synchronous run: the jobs table's notification fires per
/// statement, and would wake every worker for nothing); `$commit` joins
/// what the commit needs.
macro_rules! start_statement {
    ($job:literal, $commit:literal) => {
        concat!(
            "\
WITH d AS (
    SELECT dep.id, dep.workspace_id, dep.agent_id, dep.name, dep.config, dep.spend_cap_credits,
           CASE WHEN a.workspace_id = dep.workspace_id THEN 0 ELSE a.price_credits END AS price,
           v.source, v.manifest, v.artifact_hash,
           EXISTS (SELECT 1 FROM deployment_secrets s WHERE s.deployment_id = dep.id)
               AS has_secrets,
           (SELECT k.spend_cap_credits FROM api_keys k WHERE k.id = @key) AS key_cap,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'wallet' AND l.workspace_id = dep.workspace_id) AS wallet,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'held' AND l.workspace_id = dep.workspace_id) AS held,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'earnings' AND l.workspace_id = a.workspace_id) AS earnings
    FROM deployments dep
    JOIN agents a ON a.id = dep.agent_id
    JOIN agent_versions v ON v.id = dep.version_id
    JOIN workspace_members m ON m.workspace_id = dep.workspace_id AND m.user_id = @user
    WHERE dep.id = @deployment AND dep.deleted_at IS NULL AND dep.status = 'running'
      AND dep.version_id = @version AND @input_ok
      AND m.role IN ('member', 'admin', 'owner')
      AND (@key_workspace::uuid IS NULL OR dep.workspace_id = @key_workspace)
      AND (@asynchronous OR dep.runs_running < @max_running)
      AND (@idempotency_key::text IS NULL OR NOT EXISTS (
          SELECT 1 FROM runs r WHERE r.deployment_id = @deployment AND r.idempotency_key = @idempotency_key))
    FOR NO KEY UPDATE OF dep
),
ok AS (
    SELECT * FROM d
    WHERE d.price = 0 OR (d.wallet IS NOT NULL AND d.held IS NOT NULL AND d.earnings IS NOT NULL)
),
run AS (
    INSERT INTO runs (id, deployment_id, workspace_id, price_credits, status, trigger, input,
                      runner, lease_until, started_at, idempotency_key, created_by, api_key_id,
                      trigger_details)
    SELECT @run, ok.id, ok.workspace_id, ok.price, @status, @trigger, @input, @runner, @lease_until,
           CASE WHEN @asynchronous THEN NULL ELSE now() END, @idempotency_key, @user, @key,
           @trigger_details
    FROM ok
    RETURNING ",
            run_columns!(),
            "
),
",
            $job,
            "topics AS (
    INSERT INTO event_topics AS t (topic, last_seq)
    SELECT topic.name, 1 FROM run, unnest(@topics::text[]) WITH ORDINALITY AS topic (name, n)
    ORDER BY topic.n
    ON CONFLICT (topic) DO UPDATE SET last_seq = t.last_seq + 1
    RETURNING topic, last_seq
),
published AS (
    INSERT INTO events (topic, seq, event) SELECT topic, last_seq, @event FROM topics
    RETURNING seq
),
reserved AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, workspace_id, run_id, agent_id, memo)
    SELECT 'run:' || run.id || ':reserve', 'reserve', ok.workspace_id, run.id, ok.agent_id,
           'Held for a run'
    FROM run, ok
    WHERE ok.price > 0 AND (SELECT count(*) FROM published) = 2
    RETURNING id
),
held AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount)
    SELECT reserved.id, leg.account, leg.amount
    FROM reserved, ok,
         LATERAL (VALUES (ok.wallet, -ok.price), (ok.held, ok.price)) AS leg (account, amount)
    ORDER BY leg.account
    RETURNING id
),
spent AS (
    INSERT INTO spend_months AS s (scope, owner, month, spent, cap)
    SELECT cap.scope, cap.owner, date_trunc('month', now() AT TIME ZONE 'UTC')::date, ok.price,
           cap.cap
    FROM ok, LATERAL (VALUES (1, 'deployment', ok.id, ok.spend_cap_credits),
                             (2, 'api_key', @key::uuid, ok.key_cap)) AS cap (n, scope, owner, cap)
    WHERE ok.price > 0 AND cap.owner IS NOT NULL AND (SELECT count(*) FROM held) = 2
    ORDER BY cap.n
    ON CONFLICT (scope, owner, month)
    DO UPDATE SET spent = s.spent + EXCLUDED.spent, cap = EXCLUDED.cap
    RETURNING scope
)
SELECT run.*, ok.agent_id, ok.name AS deployment_name, ok.config AS deployment_config,
       ok.source, ok.manifest, ok.artifact_hash, ok.has_secrets,
       -- A paid run started without its hold or its counters would be an
       -- error of this statement's own: it divides by zero and does nothing.
       1 / CASE WHEN ok.price = 0
                     OR ((SELECT count(*) FROM held) = 2 AND (SELECT count(*) FROM spent) >= 1)
                THEN 1 ELSE 0 END AS paid_in_full
FROM run, ok",
            $commit
        )
    };
}

/// A synchronous run's start commits without waiting for the disk
/// (`synchronous_commit` off for this transaction only; PostgreSQL's WAL
/// writer flushes it within three `wal_writer_delay`s, 600 ms by default).
/// Its caller is answered after the end statement, whose commit waits for
/// the disk and so makes the start durable with it (the log is written in
/// order). What a crash of the database in between can lose is the start
/// as a whole (the run, its hold, its counters: the caller had no answer)
/// and the `running` events it published, which live clients may have
/// seen; they read the run's state again when the server reconnects.
const START: &str = start_statement!(
    "",
    ", (SELECT set_config('synchronous_commit', 'off', true)) AS quick_commit"
);
/// An asynchronous run's id is answered at once: its start commits
/// durably.
const START_QUEUED: &str = start_statement!(
    "job AS (
    INSERT INTO jobs (kind, payload, priority, max_attempts, run_at)
    SELECT @job_kind, jsonb_build_object('run', run.id), @job_priority, @job_attempts, now() FROM run WHERE @asynchronous
    RETURNING id
),
",
    ""
);

struct StartParams<'a> {
    run: NewRun<'a>,
    status: &'static str,
    job_kind: &'static str,
    job_priority: i16,
    job_attempts: i32,
    topics: Vec<String>,
}

impl Params for StartParams<'_> {
    fn bind<'b>(&'b self, name: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let run = &self.run;
        match name {
            "run" => out.push_bind_param::<SqlUuid, _>(&run.id),
            "deployment" => out.push_bind_param::<SqlUuid, _>(&run.deployment),
            "version" => out.push_bind_param::<SqlUuid, _>(&run.version),
            "input_ok" => out.push_bind_param::<Bool, _>(&run.input_ok),
            "user" => out.push_bind_param::<SqlUuid, _>(&run.user),
            "key" => out.push_bind_param::<Nullable<SqlUuid>, _>(&run.key),
            "key_workspace" => out.push_bind_param::<Nullable<SqlUuid>, _>(&run.key_workspace),
            "trigger" => out.push_bind_param::<Text, _>(run.trigger),
            "input" => out.push_bind_param::<Jsonb, _>(run.input),
            "idempotency_key" => out.push_bind_param::<Nullable<Text>, _>(&run.idempotency_key),
            "trigger_details" => {
                out.push_bind_param::<Nullable<diesel::sql_types::Jsonb>, _>(&run.trigger_details)
            }
            "asynchronous" => out.push_bind_param::<Bool, _>(&run.asynchronous),
            "runner" => out.push_bind_param::<Nullable<Text>, _>(&run.runner),
            "lease_until" => out.push_bind_param::<Nullable<Timestamptz>, _>(&run.lease_until),
            "max_running" => out.push_bind_param::<BigInt, _>(&run.max_running),
            "status" => out.push_bind_param::<Text, _>(self.status),
            "job_kind" => out.push_bind_param::<Text, _>(self.job_kind),
            "job_priority" => out.push_bind_param::<SmallInt, _>(&self.job_priority),
            "job_attempts" => out.push_bind_param::<Integer, _>(&self.job_attempts),
            "topics" => out.push_bind_param::<Array<Text>, _>(&self.topics),
            "event" => out.push_bind_param::<Jsonb, _>(run.event),
            other => Err(sql::unknown(other)),
        }
    }
}

/// Starts a run in one statement; `None` when the slow path must decide
/// (nothing was done).
pub(super) async fn start(
    conn: &mut AsyncPgConnection,
    run: NewRun<'_>,
    job: &crate::jobs::NewJob,
) -> Result<Option<(RunRecord, Work)>, ServiceError> {
    let topics = [
        super::topic(run.id).to_string(),
        super::deployment_topic(run.deployment).to_string(),
    ];
    let status = if run.asynchronous {
        "queued"
    } else {
        "running"
    };
    let deployment = run.deployment;
    let text = if run.asynchronous {
        START_QUEUED
    } else {
        START
    };
    let params = StartParams {
        status,
        job_kind: job.kind,
        job_priority: job.priority,
        job_attempts: job.max_attempts,
        topics: topics.to_vec(),
        run,
    };
    let started: Result<Option<Started>, DieselError> = Statement { text, params }
        .get_result(conn)
        .await
        .map(Some)
        .or_else(|error| match error {
            DieselError::NotFound => Ok(None),
            error => Err(error),
        });
    match started {
        Ok(Some(started)) => Ok(Some((
            started.run,
            Work {
                deployment,
                agent: started.agent_id,
                name: started.deployment_name,
                config: started.deployment_config,
                source: started.source,
                manifest: started.manifest,
                sha256: started.artifact_hash,
                has_secrets: started.has_secrets,
                refused: None,
            },
        ))),
        Ok(None) => Ok(None),
        Err(error) if slow_path_decides(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Errors after which the slow path decides: it refuses with the reason
/// (a wallet or cap passed, a repeated key) or, when the conflict has
/// passed, does the work.
fn slow_path_decides(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, info) => matches!(
            info.constraint_name(),
            Some(
                "ledger_no_overdraft" | "spend_within_deployment_cap" | "spend_within_api_key_cap"
            )
        ),
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name() == Some("runs_idempotency_idx")
        }
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => {
            // A deadlock (40P01) has no kind of its own in diesel.
            info.message().contains("deadlock detected")
        }
        _ => false,
    }
}

/// A run's outcome, as the end statement records it.
pub(super) struct Outcome<'a> {
    pub status: &'a str,
    pub output: Option<&'a serde_json::Value>,
    pub error: Option<&'a serde_json::Value>,
    pub logs: &'a serde_json::Value,
    pub logs_truncated: bool,
    pub duration_us: Option<i64>,
    pub fuel: Option<i64>,
    pub memory: Option<i64>,
    pub llm_calls: i32,
    pub llm_input_tokens: i64,
    pub llm_output_tokens: i64,
    pub llm_credits: i64,
    /// Events per stored topic (`{"run:…": [...], "deployment:…": [...]}`).
    pub events: &'a serde_json::Value,
}

const END: &str = concat!(
    "\
WITH run AS (
    UPDATE runs SET status = @status, output = @output, error = @error, logs = @logs, logs_truncated = @logs_truncated,
        duration_us = @duration_us, fuel_used = @fuel, peak_memory_bytes = @memory, llm_calls = @llm_calls,
        llm_input_tokens = @llm_input_tokens, llm_output_tokens = @llm_output_tokens, llm_credits = @llm_credits,
        runner = NULL, lease_until = NULL, finished_at = now(),
        charged_credits = CASE WHEN @status = 'succeeded' THEN price_credits ELSE 0 END
    WHERE id = @run AND status = 'running' AND runner = @runner
    RETURNING ",
    run_columns!(),
    "
),
paid AS (
    SELECT run.id, run.workspace_id AS payer, run.price_credits AS price, run.api_key_id,
           run.deployment_id, run.embed_id, run.created_at, dep.agent_id,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'held' AND l.workspace_id = run.workspace_id) AS held,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'wallet' AND l.workspace_id = run.workspace_id) AS wallet,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'earnings' AND l.workspace_id = a.workspace_id) AS earnings,
           (SELECT l.id FROM ledger_accounts l
            WHERE l.kind = 'revenue' AND l.workspace_id IS NULL) AS revenue
    FROM run
    JOIN deployments dep ON dep.id = run.deployment_id
    JOIN agents a ON a.id = dep.agent_id
    WHERE run.price_credits > 0
),
topics AS (
    INSERT INTO event_topics AS t (topic, last_seq)
    SELECT wanted.key, jsonb_array_length(wanted.value)
    FROM run, jsonb_each(@events) AS wanted
    ORDER BY wanted.key
    ON CONFLICT (topic) DO UPDATE SET last_seq = t.last_seq + EXCLUDED.last_seq
    RETURNING topic, last_seq
),
published AS (
    INSERT INTO events (topic, seq, event)
    SELECT topics.topic, topics.last_seq - jsonb_array_length(@events -> topics.topic) + line.n,
           line.event
    FROM topics, jsonb_array_elements(@events -> topics.topic) WITH ORDINALITY AS line (event, n)
    ORDER BY topics.topic, line.n
    RETURNING seq
),
moved AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, workspace_id, run_id, agent_id, memo)
    SELECT 'run:' || paid.id || ':' || step.kind, step.kind, paid.payer, paid.id, paid.agent_id,
           step.memo
    FROM paid, (SELECT CASE WHEN @status = 'succeeded' THEN 'settle' ELSE 'release' END AS kind,
                       CASE WHEN @status = 'succeeded' THEN 'Run charged' ELSE 'Run not charged' END
                           AS memo) AS step
    WHERE (SELECT count(*) FROM published) > 0
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
),
legs AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount)
    SELECT moved.id, leg.account, leg.amount
    FROM moved, paid, LATERAL (
        SELECT * FROM (VALUES (paid.held, -paid.price),
                              (paid.earnings, paid.price * @share / 100),
                              (paid.revenue, paid.price - paid.price * @share / 100))
                      AS settle (account, amount)
        WHERE @status = 'succeeded'
        UNION ALL
        SELECT * FROM (VALUES (paid.held, -paid.price), (paid.wallet, paid.price))
                      AS release (account, amount)
        WHERE @status <> 'succeeded'
    ) AS leg
    WHERE leg.amount <> 0
    ORDER BY leg.account
    RETURNING id
),
counters AS (
    SELECT s.scope, s.owner, s.month
    FROM spend_months s, paid
    WHERE @status <> 'succeeded' AND (SELECT count(*) FROM legs) > 0
      AND ((s.scope = 'deployment' AND s.owner = paid.deployment_id
            AND s.month = date_trunc('month', paid.created_at AT TIME ZONE 'UTC')::date)
           OR (s.scope = 'api_key' AND s.owner = paid.api_key_id
            AND s.month = date_trunc('month', paid.created_at AT TIME ZONE 'UTC')::date)
           OR (s.scope = 'embed' AND s.owner = paid.embed_id
            AND s.month = (paid.created_at AT TIME ZONE 'UTC')::date))
    ORDER BY CASE s.scope WHEN 'deployment' THEN 1 WHEN 'api_key' THEN 2 ELSE 3 END
    FOR NO KEY UPDATE OF s
),
given_back AS (
    UPDATE spend_months s SET spent = s.spent - paid.price
    FROM paid, counters
    WHERE s.scope = counters.scope AND s.owner = counters.owner AND s.month = counters.month
    RETURNING s.scope
)
SELECT run.*, (SELECT count(*) FROM given_back) AS given_back FROM run"
);

/// What the end statement did.
pub(super) enum Ended {
    /// Recorded: the run as it is now.
    Recorded(Box<RunRecord>),
    /// The run was no longer this runner's (cancelled, or its lease ran
    /// out): whoever took it recorded it.
    Taken,
    /// Nothing done: the slow path must record it.
    SlowPath,
}

struct EndParams<'a> {
    run: Uuid,
    runner: &'a str,
    share: i64,
    outcome: Outcome<'a>,
}

impl Params for EndParams<'_> {
    fn bind<'b>(&'b self, name: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let outcome = &self.outcome;
        match name {
            "run" => out.push_bind_param::<SqlUuid, _>(&self.run),
            "runner" => out.push_bind_param::<Text, _>(self.runner),
            "share" => out.push_bind_param::<BigInt, _>(&self.share),
            "status" => out.push_bind_param::<Text, _>(outcome.status),
            "output" => out.push_bind_param::<Nullable<Jsonb>, _>(&outcome.output),
            "error" => out.push_bind_param::<Nullable<Jsonb>, _>(&outcome.error),
            "logs" => out.push_bind_param::<Jsonb, _>(outcome.logs),
            "logs_truncated" => out.push_bind_param::<Bool, _>(&outcome.logs_truncated),
            "duration_us" => out.push_bind_param::<Nullable<BigInt>, _>(&outcome.duration_us),
            "fuel" => out.push_bind_param::<Nullable<BigInt>, _>(&outcome.fuel),
            "memory" => out.push_bind_param::<Nullable<BigInt>, _>(&outcome.memory),
            "llm_calls" => out.push_bind_param::<Integer, _>(&outcome.llm_calls),
            "llm_input_tokens" => out.push_bind_param::<BigInt, _>(&outcome.llm_input_tokens),
            "llm_output_tokens" => out.push_bind_param::<BigInt, _>(&outcome.llm_output_tokens),
            "llm_credits" => out.push_bind_param::<BigInt, _>(&outcome.llm_credits),
            "events" => out.push_bind_param::<Jsonb, _>(outcome.events),
            other => Err(sql::unknown(other)),
        }
    }
}

/// Ends a run this runner holds in one statement.
pub(super) async fn end(
    conn: &mut AsyncPgConnection,
    run: Uuid,
    runner: &str,
    billing: Billing,
    outcome: Outcome<'_>,
) -> Result<Ended, ServiceError> {
    let params = EndParams {
        run,
        runner,
        share: billing.creator_share_percent,
        outcome,
    };
    let ended: Result<RunRecord, DieselError> =
        Statement { text: END, params }.get_result(conn).await;
    match ended {
        Ok(record) => Ok(Ended::Recorded(Box::new(record))),
        Err(DieselError::NotFound) => Ok(Ended::Taken),
        // The database refused it (and so did nothing): the slow path
        // records it, or says what is wrong. Anything else (a connection
        // gone, a row not read) is no reason to record the run again.
        Err(error @ DieselError::DatabaseError(..)) => {
            tracing::debug!(%error, %run, "a run's end statement gave way to the slow path");
            Ok(Ended::SlowPath)
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use diesel::pg::{Pg, PgQueryBuilder};
    use diesel::query_builder::{QueryBuilder as _, QueryFragment};
    use diesel::{QueryDsl as _, SelectableHelper as _};

    use super::*;
    use crate::schema::runs;

    /// The text the database gets: every `@marker` bound (else an error).
    fn sql_of(statement: &impl QueryFragment<Pg>) -> QueryResult<String> {
        let mut builder = PgQueryBuilder::default();
        statement.to_sql(&mut builder, &Pg)?;
        Ok(builder.finish())
    }

    fn new_run<'a>(event: &'a serde_json::Value, asynchronous: bool) -> NewRun<'a> {
        NewRun {
            id: Uuid::nil(),
            deployment: Uuid::nil(),
            version: Uuid::nil(),
            input_ok: true,
            user: Uuid::nil(),
            key: None,
            key_workspace: None,
            trigger: "api",
            trigger_details: None,
            input: event,
            idempotency_key: None,
            asynchronous,
            runner: None,
            lease_until: None,
            max_running: 8,
            event,
        }
    }

    fn start_params(run: NewRun<'_>) -> StartParams<'_> {
        StartParams {
            run,
            status: "running",
            job_kind: "run",
            job_priority: 0,
            job_attempts: 1,
            topics: Vec::new(),
        }
    }

    #[test]
    fn every_marker_of_the_statements_is_bound() {
        let event = serde_json::json!({});
        for (text, asynchronous) in [(START, false), (START_QUEUED, true)] {
            let params = start_params(new_run(&event, asynchronous));
            let sql = sql_of(&Statement { text, params }).expect("every marker bound");
            assert!(!sql.contains('@'), "a marker left in:\n{sql}");
            assert!(sql.contains("$1"), "{sql}");
        }
        let params = EndParams {
            run: Uuid::nil(),
            runner: "r",
            share: 80,
            outcome: Outcome {
                status: "succeeded",
                output: None,
                error: None,
                logs: &event,
                logs_truncated: false,
                duration_us: None,
                fuel: None,
                memory: None,
                llm_calls: 0,
                llm_input_tokens: 0,
                llm_output_tokens: 0,
                llm_credits: 0,
                events: &event,
            },
        };
        let sql = sql_of(&Statement { text: END, params }).expect("every marker bound");
        assert!(!sql.contains('@'), "a marker left in:\n{sql}");
    }

    #[test]
    fn only_a_synchronous_runs_start_commits_without_waiting_for_the_disk() {
        assert!(START.contains("set_config('synchronous_commit', 'off', true)"));
        assert!(!START_QUEUED.contains("synchronous_commit"));
        assert!(!END.contains("synchronous_commit"));
    }

    #[test]
    fn a_marker_without_a_parameter_is_an_error_not_a_statement() {
        let event = serde_json::json!({});
        let params = start_params(new_run(&event, false));
        let error = sql_of(&Statement {
            text: "SELECT @run, @nobody",
            params,
        })
        .expect_err("@nobody has no parameter");
        assert!(error.to_string().contains("@nobody"), "{error}");
    }

    #[test]
    fn the_statements_return_the_columns_of_a_run_record() {
        let selected =
            diesel::debug_query::<Pg, _>(&runs::table.select(RunRecord::as_select())).to_string();
        let mut wanted: Vec<&str> = selected
            .split("\"runs\".\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let mut named: Vec<&str> = run_columns!().split(',').map(str::trim).collect();
        wanted.sort_unstable();
        named.sort_unstable();
        assert_eq!(named, wanted);
    }
}
