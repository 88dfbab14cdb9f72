//! Test runs of the editor's text and "try it" runs of a published version,
//! in the real sandbox with in-memory state, answered as a report.

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::agents::{self as market, manifest_from, newest_first};
use crate::schema::{agent_versions, trial_runs};
use crate::{ServiceError, Services};
use crate::{ledger, spend};
use types::UserId;
use types::account::{Role, Scope};
use types::deploy::RunError;
use types::market::{RunLog, RunReport, TestRunRequest};

use super::drafts::diagnostic;
use super::manifest::validate_manifest;

pub(super) const MAX_INPUT_BYTES: usize = 1 << 20;
/// Runs the editor's current text in the real sandbox. Test runs start
/// with empty storage, get no config or secret values, and reach the model
/// and the hosts the manifest grants.
pub async fn test_run(
    services: &Services,
    actor: &Actor,
    slug: &str,
    mut request: TestRunRequest,
) -> Result<RunReport, ServiceError> {
    if request.source.len() > runtime::MAX_SCRIPT_BYTES {
        return Err(ServiceError::invalid(
            "source",
            format!("must be at most {} KiB", runtime::MAX_SCRIPT_BYTES >> 10),
        ));
    }
    let user = actor.require_user()?;
    // Who may first: a stranger's manifest is never compiled.
    let agent = {
        let mut conn = services.conn().await?;
        market::editable(&mut conn, actor, slug).await?
    };
    validate_manifest(&services.connections, &mut request.manifest)?;
    // A test run acts in the caller's own accounts: a key needs the scope
    // that lets it use them, not only `agents:write`.
    if !request.manifest.capabilities.connections.is_empty() {
        actor.check_key_scope(Scope::ConnectionsWrite)?;
    }
    // The agent's workspace pays for its editor's model calls.
    let trial = Trial {
        kind: "test",
        user,
        key: actor.key_id().map(|key| key.0),
        payer: agent.workspace_id,
        agent: agent.id,
        creator: agent.workspace_id,
        price: 0,
        free_tries: 0,
    };
    execute(services, trial, slug, request).await
}

/// A test run or try: who runs it, who pays, and the price of a try.
struct Trial {
    kind: &'static str,
    user: UserId,
    /// The key it was started with, whose spend cap it counts against.
    key: Option<Uuid>,
    payer: Uuid,
    agent: Uuid,
    /// The agent's workspace, which earns a paid try's share.
    creator: Uuid,
    price: i64,
    free_tries: i32,
}

/// A trial under way: its row, and what it holds.
struct Started {
    id: Uuid,
    hold: Option<ledger::Hold>,
}

impl Trial {
    fn capped(&self) -> spend::Capped {
        spend::Capped {
            deployment: None,
            key: self.key,
            embed: None,
        }
    }

    /// Records the trial and holds its price (after the user's free tries
    /// are used up), or answers 402.
    async fn begin(&self, services: &Services) -> Result<Started, ServiceError> {
        let mut conn = services.conn().await?;
        let trial = self;
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            let mut free = false;
            if trial.price > 0 && trial.free_tries > 0 {
                // One count at a time per user and agent.
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1 || $2, 19))")
                    .bind::<diesel::sql_types::Text, _>(trial.agent.to_string())
                    .bind::<diesel::sql_types::Text, _>(trial.user.to_string())
                    .execute(conn)
                    .await?;
                let used: i64 = trial_runs::table
                    .filter(trial_runs::agent_id.eq(trial.agent))
                    .filter(trial_runs::user_id.eq(trial.user.0))
                    .filter(trial_runs::free_try)
                    .count()
                    .get_result(conn)
                    .await?;
                free = used < i64::from(trial.free_tries);
            }
            let price = if free { 0 } else { trial.price };
            let id: Uuid = diesel::insert_into(trial_runs::table)
                .values((
                    trial_runs::kind.eq(trial.kind),
                    trial_runs::agent_id.eq(trial.agent),
                    trial_runs::user_id.eq(trial.user.0),
                    trial_runs::workspace_id.eq(trial.payer),
                    trial_runs::price_credits.eq(price),
                    trial_runs::free_try.eq(free),
                ))
                .returning(trial_runs::id)
                .get_result(conn)
                .await?;
            let hold = (price > 0).then_some(ledger::Hold {
                subject: ledger::Subject::Trial(id),
                payer: trial.payer,
                agent: trial.agent,
                price,
            });
            if let Some(hold) = hold {
                ledger::reserve(conn, hold).await?;
                spend::charge(conn, trial.capped(), price).await?;
            }
            Ok(Started { id, hold })
        })
        .await
    }

    /// Charges a try that succeeded (or gives back what it held), and
    /// records the trial's end and model use.
    async fn end(
        &self,
        services: &Services,
        started: Started,
        report: &mut RunReport,
    ) -> Result<(), ServiceError> {
        let succeeded = report.error.is_none();
        let mut conn = services.conn().await?;
        let billing = services.billing;
        let creator = self.creator;
        let capped = self.capped();
        let llm = report.llm;
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            if let Some(hold) = started.hold {
                if succeeded {
                    ledger::settle(conn, billing, hold, creator).await?;
                } else {
                    ledger::release(conn, hold).await?;
                    spend::give_back_now(conn, capped, hold.price).await?;
                }
            }
            diesel::update(trial_runs::table.find(started.id))
                .set((
                    trial_runs::status.eq(if succeeded { "succeeded" } else { "failed" }),
                    trial_runs::llm_calls.eq(i32::try_from(llm.calls).unwrap_or(i32::MAX)),
                    trial_runs::llm_input_tokens.eq(llm.input_tokens),
                    trial_runs::llm_output_tokens.eq(llm.output_tokens),
                    trial_runs::llm_credits.eq(llm.credits),
                    trial_runs::finished_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
        .await?;
        report.charged_credits = match started.hold {
            Some(hold) if succeeded => hold.price,
            _ => 0,
        };
        Ok(())
    }
}

/// Runs `request`'s script once in the sandbox (its input checked to be
/// JSON) for `user`, within the test runs' share and their lower limits
/// (`trials`).
async fn execute(
    services: &Services,
    trial: Trial,
    slug: &str,
    mut request: TestRunRequest,
) -> Result<RunReport, ServiceError> {
    if request.input.len() > MAX_INPUT_BYTES {
        return Err(ServiceError::invalid("input", "must be at most 1 MiB"));
    }
    let input = if request.input.trim().is_empty() {
        "null".to_owned()
    } else {
        request.input.clone()
    };
    let value: serde_json::Value = serde_json::from_str(&input)
        .map_err(|error| ServiceError::invalid("input", format!("is not JSON: {error}")))?;
    let refused =
        super::manifest::violations(request.manifest.input_schema.as_ref(), &value, "input");
    if !refused.is_empty() {
        return Err(ServiceError::InvalidInput(refused));
    }
    let sandbox = Arc::clone(crate::sandbox::of(services)?);
    let runtime = sandbox.runtime().await?;
    request.manifest.limits = request
        .manifest
        .limits
        .clamped(&crate::trials::trial_maximum());
    // Once money is held, the trial runs to its end in a task of its own,
    // so a caller who goes away cannot leave the hold unsettled.
    let services = services.clone();
    let slug = slug.to_owned();
    let task = tokio::spawn(async move {
        let _permit = sandbox.trials.admit(trial.user).await?;
        let started = trial.begin(&services).await?;
        let (llm, meter) = crate::llm::for_run(
            &services,
            None,
            trial.payer,
            trial.agent,
            ledger::Subject::Trial(started.id),
            trial.capped(),
        )?;
        // The editor's test runs act in the author's own accounts.
        let connections =
            if trial.kind == "test" && !request.manifest.capabilities.connections.is_empty() {
                let mut conn = services.conn().await?;
                Some(
                    crate::connections::broker::for_author(
                        &services,
                        &mut conn,
                        trial.creator,
                        trial.user.0,
                        &request.manifest,
                    )
                    .await?,
                )
            } else {
                None
            };
        let mut report = run_once(
            &sandbox,
            &runtime,
            &slug,
            &request,
            &input,
            (llm, connections),
            &meter,
        )
        .await;
        report.llm.credits = meter.finish().await?;
        trial.end(&services, started, &mut report).await?;
        Ok(report)
    });
    task.await.map_err(|error| {
        ServiceError::Internal(anyhow::anyhow!("a test run task failed: {error}"))
    })?
}

/// Prepares and runs the script once with empty state and no config.
async fn run_once(
    sandbox: &crate::sandbox::Sandbox,
    runtime: &runtime::Runtime,
    slug: &str,
    request: &TestRunRequest,
    input: &str,
    (llm, connections): (
        Arc<dyn runtime::llm::LlmProvider>,
        Option<Arc<dyn runtime::connections::ConnectionBroker>>,
    ),
    meter: &Arc<crate::llm::LedgerMeter>,
) -> RunReport {
    let manifest = &request.manifest;
    let prepared = match runtime
        .prepare_javascript(slug, &request.source, &manifest.limits)
        .await
    {
        Ok(prepared) => prepared,
        Err(error) => {
            let spot = diagnostic(&error);
            let code = match error {
                runtime::PrepareError::Script(_) => "syntax_error",
                runtime::PrepareError::Load(run) => {
                    return failed_report(run.code(), run.to_string(), None);
                }
                _ => "internal",
            };
            return failed_report(code, spot.message, Some((spot.line, spot.column)));
        }
    };
    let mut host = runtime::HostContext::new(manifest.capabilities.clone())
        .with_llm(llm)
        .with_llm_meter(meter.clone())
        .with_http(sandbox.fetcher.clone())
        .with_config(BTreeMap::new())
        .with_secrets(BTreeMap::new());
    if manifest.capabilities.kv {
        host = host.with_kv(Arc::new(runtime::kv::MemoryKv::new()));
    }
    if let Some(broker) = connections {
        host = host.with_connections(broker);
    }
    let outcome = runtime.run(&prepared, input, &manifest.limits, host).await;
    let mut report = report(outcome);
    // An output the output schema does not describe is said, not refused.
    if let Some(output) = report
        .output
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
    {
        report.output_problems =
            super::manifest::violations(manifest.output_schema.as_ref(), &output, "output");
    }
    report
}

/// "Try it" on the agent page: the newest published version, run once
/// for a signed-in user with their input, empty storage and no config. A
/// paid agent's try costs its price once the author's free tries (per
/// user) are used; a failed try costs nothing.
pub async fn try_run(
    services: &Services,
    actor: &Actor,
    slug: &str,
    input: String,
) -> Result<RunReport, ServiceError> {
    let user = actor.require_scope(Scope::RunsWrite)?;
    let (trial, source, manifest) = {
        let mut conn = services.conn().await?;
        let (agent, role) = market::visible(&mut conn, actor, slug).await?;
        agent.require_offered()?;
        let latest: Option<(Option<String>, serde_json::Value)> = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent.id))
            .order(newest_first())
            .select((agent_versions::source, agent_versions::manifest))
            .first(&mut conn)
            .await
            .optional()?;
        let (source, manifest) = match latest {
            Some((Some(source), manifest)) => (source, manifest_from(manifest)?),
            _ => {
                return Err(ServiceError::Conflict {
                    field: "agent",
                    message: "this agent has no published version to run".into(),
                });
            }
        };
        // The caller's workspace pays: a key's own (where spending takes
        // the member role, as starting a run does), else the personal one.
        let payer = match actor {
            Actor::ApiKey { workspace_id, .. } => {
                if agent.price_credits > 0 && role.is_none() {
                    crate::access::require_role(&mut conn, actor, *workspace_id, Role::Member)
                        .await?;
                }
                *workspace_id
            }
            _ => crate::access::personal_workspace(&mut conn, user).await?,
        };
        let trial = Trial {
            kind: "try",
            user,
            key: actor.key_id().map(|key| key.0),
            payer: payer.0,
            agent: agent.id,
            creator: agent.workspace_id,
            // Its own workspace's members try it free.
            price: if role.is_some() {
                0
            } else {
                agent.price_credits
            },
            free_tries: agent.free_tries,
        };
        (trial, source, manifest)
    };
    execute(
        services,
        trial,
        slug,
        TestRunRequest {
            source,
            manifest,
            input,
        },
    )
    .await
}

pub(super) fn failed_report(code: &str, message: String, at: Option<(u32, u32)>) -> RunReport {
    RunReport {
        output: None,
        error: Some(RunError {
            code: code.to_owned(),
            message,
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
        }),
        logs: Vec::new(),
        logs_truncated: false,
        duration_us: 0,
        fuel_used: 0,
        peak_memory_bytes: 0,
        llm: types::deploy::LlmUse::default(),
        charged_credits: 0,
        output_problems: Vec::new(),
    }
}

pub(super) fn report(outcome: runtime::Outcome) -> RunReport {
    let (output, error) = match &outcome.result {
        Ok(output) => (
            Some(
                serde_json::from_str::<serde_json::Value>(output)
                    .and_then(|value| serde_json::to_string_pretty(&value))
                    .unwrap_or_else(|_| output.clone()),
            ),
            None,
        ),
        Err(error) => {
            if let runtime::RunError::Internal { detail } = error {
                tracing::error!(%detail, "test run failed inside the sandbox");
            }
            let (line, column) = match error {
                runtime::RunError::Agent(failure) => (failure.line, failure.column),
                _ => (None, None),
            };
            (
                None,
                Some(RunError {
                    code: error.code().to_owned(),
                    message: error.to_string(),
                    line,
                    column,
                }),
            )
        }
    };
    RunReport {
        output,
        error,
        logs: outcome
            .logs
            .into_iter()
            .map(|line| RunLog {
                level: match line.level {
                    runtime::Level::Debug => "debug",
                    runtime::Level::Info => "info",
                    runtime::Level::Warn => "warn",
                    runtime::Level::Error => "error",
                }
                .to_owned(),
                message: line.message,
                at_ms: line.at_ms,
            })
            .collect(),
        logs_truncated: outcome.logs_truncated,
        duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
        fuel_used: outcome.fuel_used,
        peak_memory_bytes: outcome.peak_memory_bytes,
        llm: types::deploy::LlmUse {
            calls: i64::try_from(outcome.llm.calls).unwrap_or(i64::MAX),
            input_tokens: i64::try_from(outcome.llm.tokens.input).unwrap_or(i64::MAX),
            output_tokens: i64::try_from(outcome.llm.tokens.output).unwrap_or(i64::MAX),
            credits: 0,
        },
        charged_credits: 0,
        output_problems: Vec::new(),
    }
}
