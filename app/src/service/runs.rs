//! Runs of deployments: started synchronously (executed here, the caller
//! waits) or asynchronously (a `run.execute` job), each executed once under
//! a lease of the process running it (see migration 000012 for what happens
//! when that process dies), cancelled on request, limited per deployment,
//! and announced as events on `run:<id>` and `deployment:<id>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use runtime::kv::KvStore;
use tokio::task::{AbortHandle, JoinHandle};
use uuid::Uuid;

use super::auth::Actor;
use super::deployments::{self, DeploymentRecord};
use super::jobs::{NewJob, enqueue};
use super::schema::{agent_versions, deployments as deployment_rows, runs};
use super::{ServiceError, Services, access, authoring, events, ledger, spend};
use crate::model::WorkspaceId;
use crate::model::account::{Role, Scope};
use crate::model::deploy::{
    DeploymentEvent, DeploymentStatus, Run, RunError, RunStatus, RunSummary, StartRun,
};

/// The job kind of asynchronous runs.
pub const RUN_JOB: &str = "run.execute";
/// Runs of one deployment executing at once, at most.
pub const MAX_RUNNING_PER_DEPLOYMENT: i64 = 8;
const MAX_INPUT_BYTES: usize = 1 << 20;
const LIST_LIMIT: i64 = 100;
/// Log lines of a run sent live, at most.
const LIVE_LOG_LINES: usize = 100;

/// Makes the key-value store of a deployment.
pub type KvFactory = Arc<dyn Fn(Uuid) -> Arc<dyn KvStore> + Send + Sync>;

/// This process as a runner of runs: its id (on the runs it holds), the
/// lease it keeps on them, and the ones executing here, to cancel.
pub struct Runner {
    pub id: String,
    pub lease: Duration,
    /// How long a synchronous request waits for its run before answering
    /// 202 with the run (which goes on).
    pub sync_wait: Duration,
    kv: Option<KvFactory>,
    executing: Mutex<HashMap<Uuid, AbortHandle>>,
}

impl Runner {
    pub fn new(kv: Option<KvFactory>) -> Self {
        Self {
            id: format!("runner:{}:{}", std::process::id(), Uuid::new_v4().simple()),
            lease: Duration::from_secs(15),
            sync_wait: Duration::from_secs(10),
            kv,
            executing: Mutex::new(HashMap::new()),
        }
    }

    fn executing(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, AbortHandle>> {
        self.executing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = runs)]
struct RunRecord {
    id: Uuid,
    deployment_id: Uuid,
    workspace_id: Uuid,
    status: String,
    trigger: String,
    input: serde_json::Value,
    output: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
    logs: serde_json::Value,
    logs_truncated: bool,
    duration_us: Option<i64>,
    fuel_used: Option<i64>,
    peak_memory_bytes: Option<i64>,
    created_at: chrono::DateTime<Utc>,
    finished_at: Option<chrono::DateTime<Utc>>,
    price_credits: i64,
    charged_credits: i64,
    /// The key it was started with: its spend cap counts the run.
    api_key_id: Option<Uuid>,
}

/// A run as lists show it: without input, output and logs.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = runs)]
struct RunSummaryRecord {
    id: Uuid,
    deployment_id: Uuid,
    status: String,
    trigger: String,
    error: Option<serde_json::Value>,
    duration_us: Option<i64>,
    fuel_used: Option<i64>,
    peak_memory_bytes: Option<i64>,
    created_at: chrono::DateTime<Utc>,
    finished_at: Option<chrono::DateTime<Utc>>,
    price_credits: i64,
    charged_credits: i64,
}

impl RunSummaryRecord {
    fn view(self) -> RunSummary {
        RunSummary {
            id: self.id,
            deployment_id: self.deployment_id,
            status: RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed),
            trigger: self.trigger,
            error: self
                .error
                .and_then(|error| serde_json::from_value(error).ok()),
            duration_us: self.duration_us,
            fuel_used: self.fuel_used,
            peak_memory_bytes: self.peak_memory_bytes,
            created_at: self.created_at,
            finished_at: self.finished_at,
            price_credits: self.price_credits,
            charged_credits: self.charged_credits,
        }
    }
}

impl RunRecord {
    fn status(&self) -> RunStatus {
        RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed)
    }

    fn view(self) -> Run {
        Run {
            id: self.id,
            deployment_id: self.deployment_id,
            status: self.status(),
            trigger: self.trigger,
            input: self.input,
            output: self.output,
            error: self
                .error
                .and_then(|error| serde_json::from_value(error).ok()),
            logs: match self.logs {
                serde_json::Value::Array(lines) => lines,
                _ => Vec::new(),
            },
            logs_truncated: self.logs_truncated,
            duration_us: self.duration_us,
            fuel_used: self.fuel_used,
            peak_memory_bytes: self.peak_memory_bytes,
            created_at: self.created_at,
            finished_at: self.finished_at,
            price_credits: self.price_credits,
            charged_credits: self.charged_credits,
        }
    }

    /// What the run holds, if it has a price.
    fn hold(&self, agent: Uuid) -> Option<ledger::Hold> {
        (self.price_credits > 0).then_some(ledger::Hold {
            run: self.id,
            payer: self.workspace_id,
            agent,
            price: self.price_credits,
        })
    }
}

/// The agent of a deployment: its id, its workspace, and the price a run
/// of it costs a deployment in `payer` (nothing in the agent's own).
async fn pricing(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<(Uuid, Uuid, i64, Uuid), ServiceError> {
    use super::schema::agents;
    let (agent, creator, price, payer): (Uuid, Uuid, i64, Uuid) = deployment_rows::table
        .inner_join(agents::table.on(agents::id.eq(deployment_rows::agent_id)))
        .filter(deployment_rows::id.eq(deployment))
        .select((
            agents::id,
            agents::workspace_id,
            agents::price_credits,
            deployment_rows::workspace_id,
        ))
        .first(conn)
        .await?;
    let price = if creator == payer { 0 } else { price };
    Ok((agent, creator, price, payer))
}

pub fn topic(id: Uuid) -> String {
    format!("run:{id}")
}

fn runner(services: &Services) -> Result<&Arc<Runner>, ServiceError> {
    services
        .runner
        .as_ref()
        .ok_or_else(|| ServiceError::Unavailable("this server does not run agents".into()))
}

/// A started run; for a synchronous one, the task executing it.
pub struct Started {
    pub run: Run,
    pub executing: Option<JoinHandle<()>>,
}

/// Starts a run of deployment `id` (members and up; keys with
/// `runs:write`). The same `idempotency_key` again answers the first run.
pub async fn start(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    request: StartRun,
    trigger: &str,
    idempotency_key: Option<String>,
) -> Result<Started, ServiceError> {
    actor.require_scope(Scope::RunsWrite)?;
    let user = actor.require_user()?;
    let asynchronous = match request.mode.as_deref() {
        None | Some("sync") => false,
        Some("async") => true,
        Some(_) => return Err(ServiceError::invalid("mode", "must be sync or async")),
    };
    let size = serde_json::to_string(&request.input)
        .map(|t| t.len())
        .unwrap_or(usize::MAX);
    if size > MAX_INPUT_BYTES {
        return Err(ServiceError::invalid(
            "input",
            "must be at most 1 MiB of JSON",
        ));
    }
    if let Some(key) = &idempotency_key
        && (key.is_empty() || key.len() > 200)
    {
        return Err(ServiceError::invalid(
            "idempotency_key",
            "must be 1 to 200 characters",
        ));
    }
    let runner = Arc::clone(runner(services)?);
    let mut conn = services.conn().await?;
    let deployment = deployments::visible_record(&mut conn, actor, id).await?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(deployment.workspace_id),
        Role::Member,
    )
    .await?;
    let (record, fresh) = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            // One start at a time per deployment: the count below holds.
            // (Not FOR UPDATE: that would also block the key-share locks
            // other transactions' foreign-key checks take on the row.)
            let deployment: DeploymentRecord = deployment_rows::table
                .find(id)
                .for_no_key_update()
                .select(DeploymentRecord::as_select())
                .first(conn)
                .await?;
            if let Some(key) = &idempotency_key {
                let earlier: Option<RunRecord> = runs::table
                    .filter(runs::deployment_id.eq(id))
                    .filter(runs::idempotency_key.eq(key))
                    .select(RunRecord::as_select())
                    .first(conn)
                    .await
                    .optional()?;
                if let Some(earlier) = earlier {
                    return Ok((earlier, false));
                }
            }
            if deployment.status() != DeploymentStatus::Running {
                return Err(ServiceError::Conflict {
                    field: "deployment",
                    message: format!(
                        "the deployment is {}; it runs only when running",
                        deployment.status().as_str()
                    ),
                });
            }
            let running: i64 = runs::table
                .filter(runs::deployment_id.eq(id))
                .filter(runs::status.eq("running"))
                .count()
                .get_result(conn)
                .await?;
            if !asynchronous && running >= MAX_RUNNING_PER_DEPLOYMENT {
                return Err(ServiceError::Conflict {
                    field: "deployment",
                    message: format!(
                        "{running} runs are in flight, the most a deployment runs at once; \
                         try again shortly or start it with mode async"
                    ),
                });
            }
            let (status, runner_id, lease) = if asynchronous {
                ("queued", None, None)
            } else {
                (
                    "running",
                    Some(runner.id.clone()),
                    Some(Utc::now() + lease_of(&runner)),
                )
            };
            let (agent, _, price, _) = pricing(conn, id).await?;
            let record: RunRecord = diesel::insert_into(runs::table)
                .values((
                    runs::deployment_id.eq(id),
                    runs::workspace_id.eq(deployment.workspace_id),
                    runs::price_credits.eq(price),
                    runs::status.eq(status),
                    runs::trigger.eq(trigger),
                    runs::input.eq(&request.input),
                    runs::runner.eq(runner_id),
                    runs::lease_until.eq(lease),
                    runs::started_at.eq((!asynchronous).then(Utc::now)),
                    runs::idempotency_key.eq(&idempotency_key),
                    runs::created_by.eq(user.0),
                    runs::api_key_id.eq(actor.key_id().map(|key| key.0)),
                ))
                .returning(RunRecord::as_returning())
                .get_result(conn)
                .await?;
            if asynchronous {
                enqueue(
                    conn,
                    NewJob::new(RUN_JOB, serde_json::json!({ "run": record.id })),
                )
                .await?;
            }
            announce(conn, &record, None).await?;
            // Paid before anything runs: a wallet short of the price, or a
            // spend cap it would pass, answers 402 and the run is not
            // recorded. (Locks are taken in one order everywhere:
            // deployment, event topics, ledger accounts, spend counters;
            // else concurrent runs deadlock.)
            if let Some(hold) = record.hold(agent) {
                ledger::reserve(conn, hold).await?;
                // Last: the spend counters are the last rows locked.
                spend::charge_caps(
                    conn,
                    id,
                    deployment.spend_cap_credits,
                    record.api_key_id,
                    hold.price,
                )
                .await?;
            }
            Ok((record, true))
        })
        .await?;
    let run_id = record.id;
    let executing = (fresh && !asynchronous).then(|| {
        let services = services.clone();
        // The run starts once it is registered here, so that its end (which
        // unregisters it) cannot come first.
        let (registered, start) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = start.await;
            if let Err(error) = execute(&services, run_id).await {
                tracing::error!(%error, run = %run_id, "a run could not be recorded");
            }
        });
        runner.executing().insert(run_id, handle.abort_handle());
        let _ = registered.send(());
        handle
    });
    Ok(Started {
        run: record.view(),
        executing,
    })
}

fn lease_of(runner: &Runner) -> chrono::Duration {
    chrono::Duration::from_std(runner.lease).unwrap_or(chrono::Duration::seconds(15))
}

/// Takes up a queued (asynchronous) run in this process: false when it is
/// no longer queued (done, cancelled) or its deployment is busy (try later).
pub async fn claim(services: &Services, run_id: Uuid) -> Result<Claim, ServiceError> {
    let runner = Arc::clone(runner(services)?);
    let mut conn = services.conn().await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        let record: Option<RunRecord> = runs::table
            .find(run_id)
            .for_update()
            .select(RunRecord::as_select())
            .first(conn)
            .await
            .optional()?;
        let Some(record) = record else {
            return Ok(Claim::Gone);
        };
        if record.status() != RunStatus::Queued {
            return Ok(Claim::Gone);
        }
        let running: i64 = runs::table
            .filter(runs::deployment_id.eq(record.deployment_id))
            .filter(runs::status.eq("running"))
            .count()
            .get_result(conn)
            .await?;
        if running >= MAX_RUNNING_PER_DEPLOYMENT {
            return Ok(Claim::Busy);
        }
        let record: RunRecord = diesel::update(runs::table.find(run_id))
            .set((
                runs::status.eq("running"),
                runs::runner.eq(&runner.id),
                runs::lease_until.eq(Utc::now() + lease_of(&runner)),
                runs::started_at.eq(Utc::now()),
            ))
            .returning(RunRecord::as_returning())
            .get_result(conn)
            .await?;
        announce(conn, &record, None).await?;
        Ok(Claim::Claimed)
    })
    .await
}

/// Ends a run that never started (its job gave up) as failed.
pub async fn fail_queued(
    services: &Services,
    run_id: Uuid,
    reason: String,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let error = RunError {
        code: "not_started".into(),
        message: reason,
        line: None,
        column: None,
    };
    end(&mut conn, run_id, Ending::Failed(error), RunStatus::Queued).await?;
    Ok(())
}

pub enum Claim {
    Claimed,
    Busy,
    Gone,
}

/// Executes a claimed asynchronous run as a cancellable task of this
/// process; answers when it has ended (recorded, or cancelled).
pub async fn execute_claimed(services: &Services, run_id: Uuid) -> Result<(), ServiceError> {
    let runner = Arc::clone(runner(services)?);
    let (registered, start) = tokio::sync::oneshot::channel::<()>();
    let task = {
        let services = services.clone();
        tokio::spawn(async move {
            let _ = start.await;
            execute(&services, run_id).await
        })
    };
    runner.executing().insert(run_id, task.abort_handle());
    let _ = registered.send(());
    match task.await {
        Ok(result) => result,
        // Cancelled: the canceller recorded it.
        Err(error) if error.is_cancelled() => Ok(()),
        Err(error) => Err(ServiceError::Internal(anyhow::anyhow!(
            "a run task failed: {error}"
        ))),
    }
}

/// Executes a run this process holds, and records the outcome unless the
/// run was taken from it meanwhile (cancelled, or its lease ran out).
pub async fn execute(services: &Services, run_id: Uuid) -> Result<(), ServiceError> {
    let runner = Arc::clone(runner(services)?);
    let result = execute_held(services, &runner, run_id).await;
    runner.executing().remove(&run_id);
    result
}

async fn execute_held(
    services: &Services,
    runner: &Runner,
    run_id: Uuid,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let record: RunRecord = runs::table
        .find(run_id)
        .select(RunRecord::as_select())
        .first(&mut conn)
        .await?;
    let deployment: DeploymentRecord = deployment_rows::table
        .find(record.deployment_id)
        .select(DeploymentRecord::as_select())
        .first(&mut conn)
        .await?;
    let (source, manifest, sha256): (Option<String>, serde_json::Value, Option<String>) =
        agent_versions::table
            .find(deployment.version_id)
            .select((
                agent_versions::source,
                agent_versions::manifest,
                agent_versions::artifact_hash,
            ))
            .first(&mut conn)
            .await?;
    let secrets = match &services.secrets {
        Some(sealer) => super::secrets::open_all(&mut conn, sealer, deployment.id).await?,
        None => BTreeMap::new(),
    };
    drop(conn);
    let outcome = match source {
        Some(source) => {
            let script = Script {
                source: &source,
                manifest,
                sha256,
                secrets,
            };
            run_script(services, runner, &deployment, script, &record.input).await?
        }
        None => Err(RunError {
            code: "internal".into(),
            message: "this version has no script the sandbox can run".into(),
            line: None,
            column: None,
        }),
    };
    record_outcome(services, runner, run_id, outcome).await
}

/// What a run produced.
type Produced = Result<runtime::Outcome, RunError>;

/// What a run executes: the version's script and manifest, and the
/// deployment's secrets.
struct Script<'a> {
    source: &'a str,
    manifest: serde_json::Value,
    sha256: Option<String>,
    secrets: BTreeMap<String, String>,
}

async fn run_script(
    services: &Services,
    runner: &Runner,
    deployment: &DeploymentRecord,
    script: Script<'_>,
    input: &serde_json::Value,
) -> Result<Produced, ServiceError> {
    let Script {
        source,
        manifest,
        sha256,
        secrets,
    } = script;
    let manifest = authoring::sandbox_manifest(&super::agents::manifest_from(manifest)?)?;
    let sandbox = authoring::sandbox(services)?;
    let runtime = sandbox.runtime().await?;
    let sha256 = sha256.unwrap_or_else(|| authoring::sha256_hex(source));
    let prepared = match sandbox
        .prepare_version(
            &runtime,
            &sha256,
            &deployment.name,
            source,
            &manifest.limits,
        )
        .await
    {
        Ok(prepared) => prepared,
        Err(error) => {
            return Ok(Err(RunError {
                code: "load".into(),
                message: error.to_string(),
                line: None,
                column: None,
            }));
        }
    };
    let config: BTreeMap<String, String> = match &deployment.config {
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let mut host = runtime::HostContext::new(manifest.capabilities.clone())
        .with_llm(Arc::clone(&sandbox.llm))
        .with_http(sandbox.fetcher.clone())
        .with_config(config)
        .with_secrets(secrets);
    if manifest.capabilities.kv
        && let Some(kv) = &runner.kv
    {
        host = host.with_kv(kv(deployment.id));
    }
    let input = input.to_string();
    let outcome = runtime.run(&prepared, &input, &manifest.limits, host).await;
    Ok(Ok(outcome))
}

async fn record_outcome(
    services: &Services,
    runner: &Runner,
    run_id: Uuid,
    produced: Produced,
) -> Result<(), ServiceError> {
    let (status, output, error, logs, truncated, duration, fuel, memory) = match produced {
        Ok(outcome) => {
            let logs: Vec<serde_json::Value> = outcome
                .logs
                .iter()
                .filter_map(|line| serde_json::to_value(line).ok())
                .collect();
            let duration = i64::try_from(outcome.duration.as_micros()).ok();
            let fuel = i64::try_from(outcome.fuel_used).ok();
            let memory = i64::try_from(outcome.peak_memory_bytes).ok();
            match outcome.result {
                Ok(text) => (
                    RunStatus::Succeeded,
                    serde_json::from_str::<serde_json::Value>(&text).ok(),
                    None,
                    logs,
                    outcome.logs_truncated,
                    duration,
                    fuel,
                    memory,
                ),
                Err(failure) => {
                    let status = match failure {
                        runtime::RunError::TimedOut { .. } => RunStatus::TimedOut,
                        _ => RunStatus::Failed,
                    };
                    if let runtime::RunError::Internal { detail } = &failure {
                        tracing::error!(%detail, run = %run_id, "a run failed inside the sandbox");
                    }
                    let (line, column) = match &failure {
                        runtime::RunError::Agent(agent) => (agent.line, agent.column),
                        _ => (None, None),
                    };
                    let error = RunError {
                        code: failure.code().to_owned(),
                        message: failure.to_string(),
                        line,
                        column,
                    };
                    (
                        status,
                        None,
                        Some(error),
                        logs,
                        outcome.logs_truncated,
                        duration,
                        fuel,
                        memory,
                    )
                }
            }
        }
        Err(error) => (
            RunStatus::Failed,
            None,
            Some(error),
            Vec::new(),
            false,
            None,
            None,
            None,
        ),
    };
    let mut conn = services.conn().await?;
    let runner_id = runner.id.clone();
    conn.transaction::<_, ServiceError, _>(async |conn| {
        let record: Option<RunRecord> = diesel::update(
            runs::table
                .find(run_id)
                .filter(runs::status.eq("running"))
                .filter(runs::runner.eq(&runner_id)),
        )
        .set((
            runs::status.eq(status.as_str()),
            runs::output.eq(&output),
            runs::error.eq(error.as_ref().and_then(|e| serde_json::to_value(e).ok())),
            runs::logs.eq(serde_json::Value::Array(logs.clone())),
            runs::logs_truncated.eq(truncated),
            runs::duration_us.eq(duration),
            runs::fuel_used.eq(fuel),
            runs::peak_memory_bytes.eq(memory),
            runs::runner.eq(None::<String>),
            runs::lease_until.eq(None::<chrono::DateTime<Utc>>),
            runs::finished_at.eq(Utc::now()),
            // Charged only when it succeeded (the ledger moves below). In
            // this statement: a second update of the row would check its
            // foreign keys again and wait on the deployment row.
            runs::charged_credits
                .eq(runs::price_credits * i64::from(status == RunStatus::Succeeded)),
        ))
        .returning(RunRecord::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        // Taken from this runner meanwhile: whoever took it recorded it.
        let Some(record) = record else { return Ok(()) };
        publish_logs(conn, &record, &logs).await?;
        announce(conn, &record, error.as_ref().map(|e| e.message.clone())).await?;
        bill(conn, services.billing, &record, status).await
    })
    .await
}

/// Run log lines live on the deployment's topic: the first
/// `LIVE_LOG_LINES` of each run (all of them stay on the run).
async fn publish_logs(
    conn: &mut AsyncPgConnection,
    record: &RunRecord,
    logs: &[serde_json::Value],
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let lines: Vec<serde_json::Value> = logs
        .iter()
        .take(LIVE_LOG_LINES)
        .filter_map(|line| {
            let event = DeploymentEvent::Log {
                level: line["level"].as_str().unwrap_or("info").to_owned(),
                message: line["message"].as_str().unwrap_or_default().to_owned(),
                run: Some(record.id),
                at: now,
            };
            serde_json::to_value(event).ok()
        })
        .collect();
    events::publish_many(conn, &deployments::topic(record.deployment_id), &lines).await?;
    Ok(())
}

/// The run's status on its own topic and on its deployment's.
async fn announce(
    conn: &mut AsyncPgConnection,
    record: &RunRecord,
    error: Option<String>,
) -> Result<(), ServiceError> {
    let event = DeploymentEvent::Run {
        run: record.id,
        status: record.status(),
        trigger: record.trigger.clone(),
        duration_us: record.duration_us,
        error,
        at: Utc::now(),
    };
    let value = serde_json::to_value(&event)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("event: {error}")))?;
    events::publish(conn, &topic(record.id), &value).await?;
    events::publish(conn, &deployments::topic(record.deployment_id), &value).await?;
    Ok(())
}

/// One run the caller may see.
pub async fn get(services: &Services, actor: &Actor, run_id: Uuid) -> Result<Run, ServiceError> {
    let mut conn = services.conn().await?;
    visible(&mut conn, actor, run_id).await.map(RunRecord::view)
}

/// Whether `actor` may follow the run's topic.
pub async fn may_follow(
    services: &Services,
    actor: &Actor,
    run_id: Uuid,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    visible(&mut conn, actor, run_id).await.map(drop)
}

async fn visible(
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
    use super::schema::workspace_members;
    actor
        .check_key_scope(Scope::RunsWrite)
        .or_else(|_| actor.check_key_scope(Scope::DeploymentsWrite))?;
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
const RECENT_LIMIT: i64 = 20;

/// Runs per minute of a deployment over the last `minutes` (1 to 1440):
/// how many finished, how many failed, and the median and 95th percentile
/// of their durations.
pub async fn metrics(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
    minutes: i32,
) -> Result<crate::model::deploy::DeploymentMetrics, ServiceError> {
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
    Ok(crate::model::deploy::DeploymentMetrics {
        minutes,
        buckets: rows
            .into_iter()
            .map(|row| crate::model::deploy::MetricsBucket {
                minute: row.minute,
                runs: row.runs,
                failed: row.failed,
                p50_us: row.p50_us,
                p95_us: row.p95_us,
            })
            .collect(),
    })
}

/// Cancels a run: a queued one at once; a running one as soon as the
/// process running it hears (at once here, within a lease renewal there).
pub async fn cancel(services: &Services, actor: &Actor, run_id: Uuid) -> Result<Run, ServiceError> {
    actor.require_scope(Scope::RunsWrite)?;
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, run_id).await?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(record.workspace_id),
        Role::Member,
    )
    .await?;
    match record.status() {
        RunStatus::Queued => {
            end(&mut conn, run_id, Ending::Cancelled, RunStatus::Queued).await?;
        }
        RunStatus::Running => {
            diesel::update(runs::table.find(run_id))
                .set(runs::cancel_requested.eq(true))
                .execute(&mut conn)
                .await?;
            if let Some(runner) = &services.runner {
                cancel_here(services, runner, &[run_id]).await?;
            }
        }
        _ => {}
    }
    visible(&mut conn, actor, run_id).await.map(RunRecord::view)
}

/// How a run that never recorded an outcome ends.
enum Ending {
    Cancelled,
    Failed(RunError),
    /// Its process died: failed, only if its lease has indeed run out.
    Orphaned(RunError),
}

/// Ends a run that is still `from` (and not taken meanwhile) and announces
/// it; false when it was not `from` any more.
async fn end(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    ending: Ending,
    from: RunStatus,
) -> Result<bool, ServiceError> {
    let orphaned = matches!(ending, Ending::Orphaned(_));
    let (status, error) = match ending {
        Ending::Cancelled => (RunStatus::Cancelled, None),
        Ending::Failed(error) | Ending::Orphaned(error) => (RunStatus::Failed, Some(error)),
    };
    conn.transaction::<_, ServiceError, _>(async |conn| {
        let mut target = runs::table
            .find(run_id)
            .filter(runs::status.eq(from.as_str()))
            .into_boxed();
        if orphaned {
            target = target.filter(runs::lease_until.lt(Utc::now()));
        }
        let record: Option<RunRecord> = diesel::update(runs::table)
            .filter(runs::id.eq_any(target.select(runs::id)))
            .set((
                runs::status.eq(status.as_str()),
                runs::error.eq(error.as_ref().and_then(|e| serde_json::to_value(e).ok())),
                runs::runner.eq(None::<String>),
                runs::lease_until.eq(None::<chrono::DateTime<Utc>>),
                runs::finished_at.eq(Utc::now()),
            ))
            .returning(RunRecord::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        match record {
            Some(record) => {
                announce(conn, &record, error.map(|e| e.message)).await?;
                release_held(conn, &record).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    })
    .await
}

/// Charges a run that succeeded and gives back what any other ending held
/// (the rule in `ledger`), in the transaction that records its end.
async fn bill(
    conn: &mut AsyncPgConnection,
    billing: ledger::Billing,
    record: &RunRecord,
    status: RunStatus,
) -> Result<(), ServiceError> {
    if status != RunStatus::Succeeded {
        return release_held(conn, record).await;
    }
    if record.price_credits == 0 {
        return Ok(());
    }
    let (agent, creator, _, _) = pricing(conn, record.deployment_id).await?;
    if let Some(hold) = record.hold(agent) {
        ledger::settle(conn, billing, hold, creator).await?;
    }
    Ok(())
}

async fn release_held(
    conn: &mut AsyncPgConnection,
    record: &RunRecord,
) -> Result<(), ServiceError> {
    if record.price_credits == 0 {
        return Ok(());
    }
    let (agent, _, _, _) = pricing(conn, record.deployment_id).await?;
    let Some(hold) = record.hold(agent) else {
        return Ok(());
    };
    if ledger::release(conn, hold).await? == ledger::Posted::Now {
        spend::give_back(
            conn,
            record.deployment_id,
            record.api_key_id,
            record.created_at,
            hold.price,
        )
        .await?;
    }
    Ok(())
}

/// Stops the runs of `ids` that execute in this process, recorded as
/// cancelled.
async fn cancel_here(
    services: &Services,
    runner: &Runner,
    ids: &[Uuid],
) -> Result<(), ServiceError> {
    for id in ids {
        let handle = runner.executing().remove(id);
        if let Some(handle) = handle {
            handle.abort();
            let mut conn = services.conn().await?;
            end(&mut conn, *id, Ending::Cancelled, RunStatus::Running).await?;
        }
    }
    Ok(())
}

/// Renews this process's leases, acts on cancellations of its runs, and
/// ends runs whose process died (their lease ran out): they are not run
/// again. Call every third of the lease.
pub async fn keep(services: &Services) -> Result<(), ServiceError> {
    let Some(runner) = services.runner.clone() else {
        return Ok(());
    };
    let mut conn = services.conn().await?;
    let renewed: Vec<(Uuid, bool)> = diesel::update(
        runs::table
            .filter(runs::runner.eq(&runner.id))
            .filter(runs::status.eq("running")),
    )
    .set(runs::lease_until.eq(Utc::now() + lease_of(&runner)))
    .returning((runs::id, runs::cancel_requested))
    .get_results(&mut conn)
    .await?;
    let cancelled: Vec<Uuid> = renewed
        .iter()
        .filter(|(_, c)| *c)
        .map(|(id, _)| *id)
        .collect();
    drop(conn);
    cancel_here(services, &runner, &cancelled).await?;
    let mut conn = services.conn().await?;
    let orphans: Vec<Uuid> = runs::table
        .filter(runs::status.eq("running"))
        .filter(runs::lease_until.lt(Utc::now()))
        .select(runs::id)
        .load(&mut conn)
        .await?;
    for id in orphans {
        let error = RunError {
            code: "interrupted".into(),
            message: "the server running it stopped; it was not run again, since it may \
                      have had effects"
                .into(),
            line: None,
            column: None,
        };
        end(&mut conn, id, Ending::Orphaned(error), RunStatus::Running).await?;
    }
    Ok(())
}
