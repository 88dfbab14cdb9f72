//! Test runs of the editor's text and "try it" runs of a published version,
//! in the real sandbox with in-memory state, answered as a report.

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::actor::Actor;
use crate::agents::{self as market, manifest_from, newest_first};
use crate::schema::agent_versions;
use crate::{ServiceError, Services};
use types::UserId;
use types::account::Scope;
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
    validate_manifest(&mut request.manifest)?;
    let user = actor.require_user()?;
    {
        let mut conn = services.conn().await?;
        market::editable(&mut conn, actor, slug).await?;
    }
    execute(services, user, slug, request).await
}

/// Runs `request`'s script once in the sandbox (its input checked to be
/// JSON) for `user`, within the test runs' share and their lower limits
/// (`trials`).
pub(super) async fn execute(
    services: &Services,
    user: UserId,
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
    serde_json::from_str::<serde::de::IgnoredAny>(&input)
        .map_err(|error| ServiceError::invalid("input", format!("is not JSON: {error}")))?;
    let sandbox = crate::sandbox::of(services)?;
    let runtime = sandbox.runtime().await?;
    request.manifest.limits = request
        .manifest
        .limits
        .clamped(&crate::trials::trial_maximum());
    let _permit = sandbox.trials.admit(user).await?;
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
                    return Ok(failed_report(run.code(), run.to_string(), None));
                }
                _ => "internal",
            };
            return Ok(failed_report(
                code,
                spot.message,
                Some((spot.line, spot.column)),
            ));
        }
    };
    let mut host = runtime::HostContext::new(manifest.capabilities.clone())
        .with_llm(Arc::clone(&sandbox.llm))
        .with_http(sandbox.fetcher.clone())
        .with_config(BTreeMap::new())
        .with_secrets(BTreeMap::new());
    if manifest.capabilities.kv {
        host = host.with_kv(Arc::new(runtime::kv::MemoryKv::new()));
    }
    let outcome = runtime.run(&prepared, &input, &manifest.limits, host).await;
    Ok(report(outcome))
}

/// "Try it" on the agent page: the newest published version, run once
/// for a signed-in user with their input, empty storage and no config.
/// Paid agents will charge for this once credits exist (the billing work).
pub async fn try_run(
    services: &Services,
    actor: &Actor,
    slug: &str,
    input: String,
) -> Result<RunReport, ServiceError> {
    let user = actor.require_scope(Scope::RunsWrite)?;
    let (source, manifest) = {
        let mut conn = services.conn().await?;
        let (agent, _) = market::visible(&mut conn, actor, slug).await?;
        let latest: Option<(Option<String>, serde_json::Value)> = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent.id))
            .order(newest_first())
            .select((agent_versions::source, agent_versions::manifest))
            .first(&mut conn)
            .await
            .optional()?;
        match latest {
            Some((Some(source), manifest)) => (source, manifest_from(manifest)?),
            _ => {
                return Err(ServiceError::Conflict {
                    field: "agent",
                    message: "this agent has no published version to run".into(),
                });
            }
        }
    };
    execute(
        services,
        user,
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
    }
}
