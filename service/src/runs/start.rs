//! Starting a run: access, idempotency, the per-deployment limit, caps and
//! the price held, all in the start transaction; then executed here
//! (synchronous) or queued as a `run.execute` job (asynchronous).

use std::sync::Arc;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::actor::Actor;
use crate::deployments::{self, DeploymentRecord};
use crate::jobs::{NewJob, enqueue};
use crate::schema::{agent_versions, deployments as deployment_rows, runs};
use crate::{ServiceError, Services, access, idempotency, ledger, spend};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::deploy::{DeploymentEvent, DeploymentStatus, Run, RunStatus, StartRun};

use super::MAX_RUNNING_PER_DEPLOYMENT;
use super::RUN_JOB;
use super::RunRecord;
use super::Runner;
use super::execute::announce;
use super::execute::execute_recorded;
use super::execute::lease_of;
use super::fast::{self, Work};
use super::input;
use super::runner;

pub(super) const MAX_INPUT_BYTES: usize = 1 << 20;
/// The agent of a deployment: its id, its workspace, and the price a run
/// of it costs a deployment in `payer` (nothing in the agent's own).
pub(super) async fn pricing(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<(Uuid, Uuid, i64, Uuid), ServiceError> {
    use crate::schema::agents;
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

/// A started run; for a synchronous one, the task executing it.
pub struct Started {
    pub run: Run,
    /// Answers the run as recorded (None if it was taken meanwhile).
    pub executing: Option<JoinHandle<Option<Run>>>,
}

/// Starts a run of deployment `id` (members and up; keys with
/// `runs:write`, or `mcp` for a run started as an MCP tool call). The same `idempotency_key` again answers the first run.
pub async fn start(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    request: StartRun,
    trigger: &str,
    idempotency_key: Option<String>,
) -> Result<Started, ServiceError> {
    start_triggered(services, actor, id, request, trigger, None, idempotency_key).await
}

/// [`start`], with the details of what started it (a schedule's slot, a
/// webhook's method, query and headers), which the agent reads as
/// `ctx.trigger`.
pub async fn start_triggered(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    request: StartRun,
    trigger: &str,
    trigger_details: Option<serde_json::Value>,
    idempotency_key: Option<String>,
) -> Result<Started, ServiceError> {
    start_from(
        services,
        actor,
        id,
        request,
        trigger,
        trigger_details,
        idempotency_key,
        None,
    )
    .await
}

/// [`start_triggered`] for a web embed's visitor (`trigger = embed`): the
/// run is recorded with `embed`, whose daily cap it counts against (its
/// price now, its model calls as they are made) and whose conversation it
/// answers in. Queued (asynchronous): the visitor follows it live.
pub async fn start_embedded(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    input: serde_json::Value,
    trigger_details: serde_json::Value,
    embed: Uuid,
) -> Result<Started, ServiceError> {
    let request = StartRun {
        input,
        mode: Some("async".to_owned()),
    };
    start_from(
        services,
        actor,
        id,
        request,
        "embed",
        Some(trigger_details),
        None,
        Some(embed),
    )
    .await
}

#[expect(clippy::too_many_arguments, reason = "one start, three doors")]
async fn start_from(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    request: StartRun,
    trigger: &str,
    trigger_details: Option<serde_json::Value>,
    idempotency_key: Option<String>,
    embed: Option<Uuid>,
) -> Result<Started, ServiceError> {
    actor.require_scope(if trigger == "mcp" {
        Scope::Mcp
    } else {
        Scope::RunsWrite
    })?;
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
    idempotency::check_key(idempotency_key.as_deref(), 200)?;
    let runner = Arc::clone(runner(services)?);
    let mut conn = services.conn().await?;
    // One statement, when nothing stands in the way: the input meets the
    // input schema kept for the deployment's version (the statement checks
    // the version is still the one, and does nothing for an input the
    // schema refuses). Anything else goes the slow path, which checks
    // access before it answers; so does an embed's run (its daily cap).
    if let Some(kept) = services.input_schemas.get(id).filter(|_| embed.is_none()) {
        let input_ok = input::meets(kept.schema.as_ref(), &request.input, size).await;
        let run_id = Uuid::new_v4();
        let lease_until = (!asynchronous).then(|| Utc::now() + lease_of(&runner));
        let event = serde_json::to_value(DeploymentEvent::Run {
            run: run_id,
            status: if asynchronous {
                RunStatus::Queued
            } else {
                RunStatus::Running
            },
            trigger: trigger.to_owned(),
            duration_us: None,
            error: None,
            at: Utc::now(),
        })
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("event: {error}")))?;
        let new_run = fast::NewRun {
            id: run_id,
            deployment: id,
            version: kept.version,
            input_ok,
            user: user.0,
            key: actor.key_id().map(|key| key.0),
            key_workspace: actor.bound_workspace().map(|workspace| workspace.0),
            trigger,
            trigger_details: trigger_details.as_ref(),
            input: &request.input,
            idempotency_key: idempotency_key.as_deref(),
            asynchronous,
            runner: (!asynchronous).then_some(runner.id.as_str()),
            lease_until,
            max_running: MAX_RUNNING_PER_DEPLOYMENT,
            event: &event,
        };
        let job = NewJob::new(RUN_JOB, serde_json::Value::Null);
        if let Some((record, work)) = fast::start(&mut conn, new_run, &job).await? {
            drop(conn);
            let executing = (!asynchronous)
                .then(|| spawn_execution(services, &runner, record.clone(), Some(work)));
            return Ok(Started {
                run: record.view(),
                executing,
            });
        }
    }
    // The slow path: says why not, or starts it.
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
            // The input against the schema of the version it would run.
            let manifest: serde_json::Value = agent_versions::table
                .find(deployment.version_id)
                .select(agent_versions::manifest)
                .first(conn)
                .await?;
            let kept = services
                .input_schemas
                .keep(id, deployment.version_id, &manifest);
            input::check(kept.schema.as_ref(), &request.input, size).await?;
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
            let (agent, creator, price, _) = pricing(conn, id).await?;
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
                    runs::trigger_details.eq(&trigger_details),
                    runs::embed_id.eq(embed),
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
                // Made here, so that the next start and this run's end
                // find every account the fast path moves credits between.
                ledger::account(conn, ledger::Account::Earnings, Some(creator)).await?;
                // Last: the spend counters are the last rows locked.
                spend::charge_caps(
                    conn,
                    id,
                    deployment.spend_cap_credits,
                    record.api_key_id,
                    record.embed_id,
                    hold.price,
                )
                .await?;
            }
            Ok((record, true))
        })
        .await?;
    let executing =
        (fresh && !asynchronous).then(|| spawn_execution(services, &runner, record.clone(), None));
    Ok(Started {
        run: record.view(),
        executing,
    })
}

/// Executes a synchronous run in a task of its own (registered first, so
/// that it can be cancelled); the task answers the run as recorded.
fn spawn_execution(
    services: &Services,
    runner: &Runner,
    record: RunRecord,
    work: Option<Work>,
) -> JoinHandle<Option<Run>> {
    let services = services.clone();
    let run_id = record.id;
    // The run starts once it is registered here, so that its end (which
    // unregisters it) cannot come first.
    let (registered, start) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = start.await;
        match execute_recorded(&services, run_id, work.map(|work| (record, work))).await {
            Ok(recorded) => recorded.map(RunRecord::view),
            Err(error) => {
                tracing::error!(%error, run = %run_id, "a run could not be recorded");
                None
            }
        }
    });
    runner.executing().insert(run_id, handle.abort_handle());
    let _ = registered.send(());
    handle
}

/// A run started for a caller who waits for it (the REST API and the SPA's
/// server function): the run, and whether it finished within the wait.
pub struct Answered {
    pub run: Run,
    pub finished: bool,
}

/// Starts a run (see `start`; the trigger is `api` for keys, `ui` for
/// browsers) and waits at most this server's synchronous wait for it. The
/// run goes on if the wait ends first (or the caller goes away).
pub async fn start_and_wait(
    services: &Services,
    actor: &Actor,
    id: Uuid,
    request: StartRun,
    idempotency_key: Option<String>,
) -> Result<Answered, ServiceError> {
    let trigger = if actor.key_id().is_some() {
        "api"
    } else {
        "ui"
    };
    let started = start(services, actor, id, request, trigger, idempotency_key).await?;
    let Some(executing) = started.executing else {
        let finished = started.run.status.is_finished();
        return Ok(Answered {
            run: started.run,
            finished,
        });
    };
    let wait = services
        .runner
        .as_ref()
        .map_or(std::time::Duration::from_secs(10), |runner| {
            runner.sync_wait
        });
    let finished = match tokio::time::timeout(wait, executing).await {
        // As recorded: nothing to read back.
        Ok(Ok(Some(run))) => {
            return Ok(Answered {
                finished: run.status.is_finished(),
                run,
            });
        }
        Ok(_) => true,
        Err(_) => false,
    };
    // The run's own answer, which `runs:write` alone may read.
    let mut conn = services.conn().await?;
    let run = super::read::visible(&mut conn, actor, started.run.id)
        .await?
        .view();
    Ok(Answered {
        finished: finished && run.status.is_finished(),
        run,
    })
}
