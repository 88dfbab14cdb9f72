//! Executing a run once: claimed under this process's lease, run in the
//! sandbox with the deployment's config, secrets and key-value store, and
//! its outcome, log lines and events recorded in one transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::deployments::DeploymentRecord;
use crate::schema::{agent_versions, deployments as deployment_rows, runs};
use crate::{ServiceError, Services, authoring, events};
use types::deploy::{DeploymentEvent, RunError, RunStatus};

use super::MAX_RUNNING_PER_DEPLOYMENT;
use super::RunRecord;
use super::Runner;
use super::charge::Ending;
use super::charge::bill;
use super::charge::end;
use super::deployment_topic;
use super::fast::{self, Work};
use super::runner;
use super::topic;

/// Log lines of a run sent live, at most.
pub(super) const LIVE_LOG_LINES: usize = 100;

pub(super) fn lease_of(runner: &Runner) -> chrono::Duration {
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
        // Runs in flight, on the deployment's row locked (the order of
        // locks: run, deployment): concurrent claims and starts see each
        // other's count.
        let running: i32 = deployment_rows::table
            .find(record.deployment_id)
            .for_no_key_update()
            .select(deployment_rows::runs_running)
            .first(conn)
            .await?;
        if i64::from(running) >= MAX_RUNNING_PER_DEPLOYMENT {
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
    execute_recorded(services, run_id, None).await.map(|_| ())
}

/// `execute`, with what its start read when it has it (the fast path);
/// answers the run as recorded (None when it was taken meanwhile).
pub(super) async fn execute_recorded(
    services: &Services,
    run_id: Uuid,
    started: Option<(RunRecord, Work)>,
) -> Result<Option<RunRecord>, ServiceError> {
    let runner = Arc::clone(runner(services)?);
    let result = execute_held(services, &runner, run_id, started).await;
    runner.executing().remove(&run_id);
    result
}

/// What executing a run needs, read for a run started on the slow path or
/// claimed from the queue.
async fn load(services: &Services, run_id: Uuid) -> Result<(RunRecord, Work), ServiceError> {
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
    // The input against the schema of the version that runs now: a
    // redeploy since the start may have brought a stricter one.
    let kept = services
        .input_schemas
        .keep(deployment.id, deployment.version_id, &manifest);
    let refused = kept
        .schema
        .as_deref()
        .and_then(|schema| schema.check(&record.input, "input").err())
        .and_then(|violations| violations.into_iter().next())
        .map(|violation| {
            format!("the input does not meet the input schema of the version deployed: {violation}")
        });
    let work = Work {
        deployment: deployment.id,
        agent: deployment.agent_id,
        name: deployment.name,
        config: deployment.config,
        source,
        manifest,
        sha256,
        has_secrets: true,
        refused,
    };
    Ok((record, work))
}

async fn execute_held(
    services: &Services,
    runner: &Runner,
    run_id: Uuid,
    started: Option<(RunRecord, Work)>,
) -> Result<Option<RunRecord>, ServiceError> {
    let (record, work) = match started {
        Some(started) => started,
        None => load(services, run_id).await?,
    };
    let mut secrets = match &services.secrets {
        Some(sealer) if work.has_secrets => {
            let mut conn = services.conn().await?;
            crate::secrets::open_all(&mut conn, sealer, work.deployment).await?
        }
        _ => BTreeMap::new(),
    };
    // The workspace's own model key is the host's to use, never the agent's.
    let own_key = secrets.remove(crate::llm::OWN_KEY_SECRET);
    let (outcome, llm_credits) = match (&work.source, &work.refused) {
        (_, Some(refused)) => (
            Err(RunError {
                code: "invalid_input".into(),
                message: refused.clone(),
                line: None,
                column: None,
            }),
            0,
        ),
        (Some(source), None) => {
            let script = Script {
                source,
                manifest: work.manifest.clone(),
                sha256: work.sha256.clone(),
                secrets,
                own_key,
                trigger: record.trigger_for_agent(),
                conversation: match record.embed_id {
                    Some(_) => {
                        let mut conn = services.conn().await?;
                        super::conversation::history(&mut conn, run_id).await?
                    }
                    None => Vec::new(),
                },
            };
            let payer = Payer {
                run: run_id,
                workspace: record.workspace_id,
                key: record.api_key_id,
                embed: record
                    .embed_id
                    .map(|embed| (embed, record.created_at.date_naive())),
            };
            run_script(services, runner, &work, script, payer, &record.input).await?
        }
        (None, None) => (
            Err(RunError {
                code: "internal".into(),
                message: "this version has no script the sandbox can run".into(),
                line: None,
                column: None,
            }),
            0,
        ),
    };
    record_outcome(services, runner, &record, outcome, llm_credits).await
}

/// Who a run's model calls are charged to, and the key whose spend cap
/// they count against (with the deployment's).
pub(super) struct Payer {
    run: Uuid,
    workspace: Uuid,
    key: Option<Uuid>,
    /// The web embed whose daily cap they count against, and the day its
    /// run started.
    embed: Option<(Uuid, chrono::NaiveDate)>,
}

/// What a run produced.
pub(super) type Produced = Result<runtime::Outcome, RunError>;

/// What a run executes: the version's script and manifest, and the
/// deployment's secrets (and its own model key, kept from the agent).
pub(super) struct Script<'a> {
    source: &'a str,
    manifest: serde_json::Value,
    sha256: Option<String>,
    secrets: BTreeMap<String, String>,
    own_key: Option<String>,
    trigger: runtime::Trigger,
    /// The conversation it answers in (`ctx.conversation`).
    conversation: Vec<runtime::ConversationMessage>,
}

/// Runs a script; what it produced, and the credits its model calls were
/// charged.
pub(super) async fn run_script(
    services: &Services,
    runner: &Runner,
    deployment: &Work,
    script: Script<'_>,
    payer: Payer,
    input: &serde_json::Value,
) -> Result<(Produced, i64), ServiceError> {
    let Script {
        source,
        manifest,
        sha256,
        secrets,
        own_key,
        trigger,
        conversation,
    } = script;
    let manifest = crate::agents::manifest_from(manifest)?;
    let sandbox = crate::sandbox::of(services)?;
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
            return Ok((
                Err(RunError {
                    code: "load".into(),
                    message: error.to_string(),
                    line: None,
                    column: None,
                }),
                0,
            ));
        }
    };
    let config: BTreeMap<String, String> = match &deployment.config {
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let (llm, meter) = crate::llm::for_run(
        services,
        own_key.as_deref(),
        payer.workspace,
        deployment.agent,
        crate::ledger::Subject::Run(payer.run),
        crate::spend::Capped {
            deployment: Some(deployment.deployment),
            key: payer.key,
            embed: payer.embed,
        },
    )?;
    let mut host = runtime::HostContext::new(manifest.capabilities.clone())
        .with_llm(llm)
        .with_llm_meter(meter.clone())
        .with_http(sandbox.fetcher.clone())
        .with_config(config)
        .with_secrets(secrets)
        .with_trigger(trigger)
        .with_conversation(conversation);
    if manifest.capabilities.kv
        && let Some(kv) = &runner.kv
    {
        host = host.with_kv(kv(deployment.deployment));
    }
    if !manifest.capabilities.connections.is_empty() {
        let mut conn = services.conn().await?;
        host = host.with_connections(
            crate::connections::broker::for_deployment(
                services,
                &mut conn,
                deployment.deployment,
                &manifest,
            )
            .await?,
        );
    }
    let input = input.to_string();
    let outcome = runtime.run(&prepared, &input, &manifest.limits, host).await;
    let charged = meter.finish().await?;
    Ok((Ok(outcome), charged))
}

/// Records a run's outcome (one statement; the transaction below when
/// that gives way); the run as recorded, None when it was taken from this
/// runner meanwhile.
pub(super) async fn record_outcome(
    services: &Services,
    runner: &Runner,
    started: &RunRecord,
    produced: Produced,
    llm_credits: i64,
) -> Result<Option<RunRecord>, ServiceError> {
    let run_id = started.id;
    let llm = produced
        .as_ref()
        .map(|outcome| outcome.llm)
        .unwrap_or_default();
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
    let error_value = error.as_ref().and_then(|e| serde_json::to_value(e).ok());
    let logs = serde_json::Value::Array(logs);
    let llm_calls = i32::try_from(llm.calls).unwrap_or(i32::MAX);
    let llm_input_tokens = i64::try_from(llm.tokens.input).unwrap_or(i64::MAX);
    let llm_output_tokens = i64::try_from(llm.tokens.output).unwrap_or(i64::MAX);
    let mut conn = services.conn().await?;
    let runner_id = runner.id.clone();
    let status_event = DeploymentEvent::Run {
        run: run_id,
        status,
        trigger: started.trigger.clone(),
        duration_us: duration,
        error: error.as_ref().map(|e| e.message.clone()),
        at: Utc::now(),
    };
    let status_event = serde_json::to_value(&status_event)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("event: {error}")))?;
    let mut on_deployment = log_events(run_id, logs.as_array().map_or(&[][..], Vec::as_slice));
    on_deployment.push(status_event.clone());
    let events = serde_json::json!({
        topic(run_id).to_string(): [status_event],
        deployment_topic(started.deployment_id).to_string(): on_deployment,
    });
    let outcome = fast::Outcome {
        status: status.as_str(),
        output: output.as_ref(),
        error: error_value.as_ref(),
        logs: &logs,
        logs_truncated: truncated,
        duration_us: duration,
        fuel,
        memory,
        llm_calls,
        llm_input_tokens,
        llm_output_tokens,
        llm_credits,
        events: &events,
    };
    match fast::end(&mut conn, run_id, &runner_id, services.billing, outcome).await? {
        fast::Ended::Recorded(record) => return Ok(Some(*record)),
        fast::Ended::Taken => return Ok(None),
        fast::Ended::SlowPath => {}
    }
    let logs = logs.as_array().cloned().unwrap_or_default();
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
            runs::error.eq(&error_value),
            runs::logs.eq(serde_json::Value::Array(logs.clone())),
            runs::logs_truncated.eq(truncated),
            runs::duration_us.eq(duration),
            runs::fuel_used.eq(fuel),
            runs::peak_memory_bytes.eq(memory),
            runs::llm_calls.eq(llm_calls),
            runs::llm_input_tokens.eq(llm_input_tokens),
            runs::llm_output_tokens.eq(llm_output_tokens),
            runs::llm_credits.eq(llm_credits),
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
        let Some(record) = record else {
            return Ok(None);
        };
        publish_logs(conn, &record, &logs).await?;
        announce(conn, &record, error.as_ref().map(|e| e.message.clone())).await?;
        bill(conn, services.billing, &record, status).await?;
        Ok(Some(record))
    })
    .await
}

/// A run's log lines as live events on its deployment's topic: the first
/// `LIVE_LOG_LINES` (all of them stay on the run).
fn log_events(run: Uuid, logs: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let now = Utc::now();
    logs.iter()
        .take(LIVE_LOG_LINES)
        .filter_map(|line| {
            let event = DeploymentEvent::Log {
                level: line["level"].as_str().unwrap_or("info").to_owned(),
                message: line["message"].as_str().unwrap_or_default().to_owned(),
                run: Some(run),
                at: now,
            };
            serde_json::to_value(event).ok()
        })
        .collect()
}

/// Run log lines live on the deployment's topic: the first
/// `LIVE_LOG_LINES` of each run (all of them stay on the run).
pub(super) async fn publish_logs(
    conn: &mut AsyncPgConnection,
    record: &RunRecord,
    logs: &[serde_json::Value],
) -> Result<(), ServiceError> {
    let lines = log_events(record.id, logs);
    events::publish_many(conn, deployment_topic(record.deployment_id), &lines).await?;
    Ok(())
}

/// The run's status on its own topic and on its deployment's.
pub(super) async fn announce(
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
    events::publish(conn, topic(record.id), &value).await?;
    events::publish(conn, deployment_topic(record.deployment_id), &value).await?;
    Ok(())
}
