//! The deployment page: its status (live), the actions on it, a run form
//! and the runs as they happen, metrics charts, the status timeline, a log
//! tail, the `curl` to run it from anywhere, and its config and secrets.
//!
//! Everything live comes from one topic, `deployment:<id>`, followed from a
//! few hundred events before the state the page read: those fill the
//! timeline and the log tail; only events after that state change it.

use chrono::{DateTime, Timelike, Utc};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use serde::Deserialize;
use uuid::Uuid;

use super::deploy::{
    RunBadge, StatusBadge, deployment_event, deployment_topic, duration_label, merge_loaded,
    merge_run_event, run_href, status_label, uuid_param,
};
use crate::auth::{RequireAuth, use_auth};
use crate::client::call;
use crate::components::form::{FieldError, FormError};
use crate::live::{Live, TopicMessage};
use crate::remote::Remote;
use types::AgentDetail;
use types::deploy::{
    Deployment, DeploymentEvent, DeploymentMetrics, DeploymentStatus, MetricsBucket, Redeploy, Run,
    RunStatus, RunSummary, SecretChanges, SpendCap, StartRun,
};
use types::error::{ApiError, code};

/// How far back the page reads the topic for its timeline and log tail.
const HISTORY_EVENTS: i64 = 300;
/// Runs the history keeps.
const HISTORY_RUNS: usize = 100;
/// Log lines kept in the tail.
const MAX_LOG_LINES: usize = 2_000;
/// The metrics window, in minutes.
const METRICS_MINUTES: i32 = 60;

/// A list answer of the REST API.
#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

#[derive(Clone, Debug, PartialEq)]
struct LogLine {
    seq: i64,
    level: String,
    message: String,
    run: Option<Uuid>,
    at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
struct Step {
    status: DeploymentStatus,
    reason: Option<String>,
    version: String,
    at: DateTime<Utc>,
}

#[component]
pub fn DeploymentPage() -> impl IntoView {
    let id = uuid_param("id");
    view! {
        <RequireAuth>
            <div class="page deployment-page">
                <A href="/dashboard" attr:class="back">"← Dashboard"</A>
                {move || match id.get() {
                    Some(id) => view! { <Loaded id /> }.into_any(),
                    None => view! {
                        <div class="panel panel-empty"><h2>"No such deployment"</h2></div>
                    }.into_any(),
                }}
            </div>
        </RequireAuth>
    }
}

#[component]
fn Loaded(id: Uuid) -> impl IntoView {
    let deployment = Remote::new(move || async move {
        let path = format!("/api/v1/deployments/{id}");
        call::<Deployment>("GET", &path, None::<&()>, None).await
    });
    deployment.view("Loading the deployment…", move |initial| {
        view! { <DeploymentView initial /> }
    })
}

/// Everything the page keeps live, shared by its sections.
#[derive(Clone, Copy)]
struct Page {
    id: Uuid,
    current: RwSignal<Deployment>,
    /// The newest event applied to `current`.
    applied: StoredValue<i64>,
    steps: RwSignal<Vec<Step>>,
    logs: RwSignal<Vec<LogLine>>,
    runs: RwSignal<Vec<RunSummary>>,
    metrics: RwSignal<Vec<MetricsBucket>>,
    deleted: RwSignal<bool>,
    refused: RwSignal<Option<String>>,
    /// Events before the timeline's first were purged (older than a week).
    trimmed: RwSignal<bool>,
    /// The agent (its versions and example input), read once.
    agent: Remote<AgentDetail>,
}

impl Page {
    /// Takes a deployment an action answered with, unless the live events
    /// already went past it.
    fn answered(self, deployment: Deployment) {
        // The page may be gone by the time an answer arrives.
        let Some(applied) = self.applied.try_get_value() else {
            return;
        };
        let newer = deployment.event_seq >= applied;
        if newer {
            self.applied.set_value(deployment.event_seq);
        }
        self.current.update(|current| {
            let keep = (
                current.status,
                current.status_reason.clone(),
                current.version.clone(),
            );
            *current = deployment;
            if !newer {
                (current.status, current.status_reason, current.version) = keep;
            }
        });
    }

    fn on_event(
        self,
        seq: i64,
        event: DeploymentEvent,
        baseline: i64,
        metrics_due: StoredValue<bool>,
    ) {
        let fresh = seq > baseline;
        match event {
            DeploymentEvent::Status {
                status,
                reason,
                generation,
                version,
                at,
            } => {
                self.steps.update(|steps| {
                    steps.push(Step {
                        status,
                        reason: reason.clone(),
                        version: version.clone(),
                        at,
                    })
                });
                if seq > self.applied.get_value() {
                    self.applied.set_value(seq);
                    self.current.update(|current| {
                        current.status = status;
                        current.status_reason = reason;
                        current.generation = generation;
                        current.version = version;
                    });
                }
            }
            DeploymentEvent::Log {
                level,
                message,
                run,
                at,
            } => self.logs.update(|logs| {
                logs.push(LogLine {
                    seq,
                    level,
                    message,
                    run,
                    at,
                });
                if logs.len() > MAX_LOG_LINES {
                    logs.drain(..logs.len() - MAX_LOG_LINES);
                }
            }),
            DeploymentEvent::Deleted { .. } => self.deleted.set(true),
            event @ DeploymentEvent::Run { .. } => {
                if !fresh {
                    return;
                }
                self.runs.update(|runs| {
                    merge_run_event(runs, self.id, &event);
                });
                if let DeploymentEvent::Run {
                    status,
                    duration_us,
                    at,
                    ..
                } = event
                    && status.is_finished()
                {
                    self.metrics
                        .update(|buckets| count_run(buckets, at, status, duration_us));
                    self.refresh_metrics_soon(metrics_due);
                }
            }
        }
    }

    fn load_metrics(self) {
        let path = format!(
            "/api/v1/deployments/{}/metrics?minutes={METRICS_MINUTES}",
            self.id
        );
        leptos::task::spawn_local(async move {
            if let Ok(metrics) = call::<DeploymentMetrics>("GET", &path, None::<&()>, None).await {
                self.metrics.try_set(metrics.buckets);
            }
        });
    }

    /// The counts move at once with the run events; the percentiles come
    /// from the server, asked at most once a second.
    fn refresh_metrics_soon(self, due: StoredValue<bool>) {
        if due.get_value() {
            return;
        }
        due.set_value(true);
        leptos::task::spawn_local(async move {
            pause(1_000).await;
            if due.try_set_value(false).is_none() {
                self.load_metrics();
            }
        });
    }
}

/// Counts a finished run into its minute (the percentiles wait for the
/// server; a new minute takes the run's duration as both).
fn count_run(
    buckets: &mut Vec<MetricsBucket>,
    at: DateTime<Utc>,
    status: RunStatus,
    duration_us: Option<i64>,
) {
    let Some(minute) = at.with_second(0).and_then(|at| at.with_nanosecond(0)) else {
        return;
    };
    let failed = i64::from(status != RunStatus::Succeeded);
    match buckets.iter_mut().find(|bucket| bucket.minute == minute) {
        Some(bucket) => {
            bucket.runs += 1;
            bucket.failed += failed;
        }
        None => {
            buckets.push(MetricsBucket {
                minute,
                runs: 1,
                failed,
                p50_us: duration_us,
                p95_us: duration_us,
            });
            buckets.sort_by_key(|bucket| bucket.minute);
        }
    }
}

#[component]
fn DeploymentView(initial: Deployment) -> impl IntoView {
    let live = expect_context::<Live>();
    let baseline = initial.event_seq;
    let page = Page {
        id: initial.id,
        current: RwSignal::new(initial.clone()),
        applied: StoredValue::new(baseline),
        steps: RwSignal::new(Vec::new()),
        logs: RwSignal::new(Vec::new()),
        runs: RwSignal::new(Vec::new()),
        metrics: RwSignal::new(Vec::new()),
        deleted: RwSignal::new(false),
        refused: RwSignal::new(None),
        trimmed: RwSignal::new(false),
        agent: {
            let slug = initial.agent.slug.clone();
            Remote::new(move || crate::api::agents::get_agent(slug.clone()))
        },
    };
    let metrics_due = StoredValue::new(false);
    live.follow(
        deployment_topic(initial.id),
        Some((baseline - HISTORY_EVENTS).max(0)),
        move |message| match message {
            TopicMessage::Event { seq, event } => {
                if let Some(event) = deployment_event(&event) {
                    page.on_event(seq, event, baseline, metrics_due);
                }
            }
            // The state came from the server: only the timeline and the
            // log tail are shorter.
            TopicMessage::HistoryGone => page.trimmed.set(true),
            TopicMessage::Refused { message } => page.refused.set(Some(message)),
        },
    );
    page.load_metrics();
    let status = Signal::derive(move || page.current.with(|d| d.status));
    let agent_href = crate::routes::agent(&initial.agent.slug);
    view! {
        <header class="deployment-header">
            <div>
                <h1 data-testid="deployment-name">{move || page.current.with(|d| d.name.clone())}</h1>
                <p class="muted">
                    <A href=agent_href>{initial.agent.name.clone()}</A>
                    " · v" <span data-testid="deployment-version">{move || page.current.with(|d| d.version.clone())}</span>
                    " · " {initial.workspace.clone()}
                </p>
            </div>
            <StatusBadge status />
        </header>
        {move || page.current.with(|d| d.status_reason.clone()).map(|reason| view! {
            <p class="panel panel-error form-error" data-testid="status-reason">{reason}</p>
        })}
        {move || page.deleted.get().then(|| view! {
            <p class="panel panel-error form-error">"This deployment was deleted."</p>
        })}
        {move || page.refused.get().map(|message| view! {
            <p class="panel panel-error form-error">"Live updates are off: " {message}</p>
        })}
        <Actions page />
        <div class="deployment-layout">
            <div class="deployment-main">
                <RunForm page />
                <RunHistory page />
            </div>
            <aside class="deployment-side">
                <Timeline page />
                <Curl id=initial.id />
            </aside>
        </div>
        <Metrics page />
        <LogTail page />
        <Settings page />
    }
}

/// Stop, start, restart, redeploy another version, delete.
#[component]
fn Actions(page: Page) -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let versions = page.agent;
    let chosen = RwSignal::new(String::new());
    let act = move |action: &'static str| {
        let id = page.id;
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/deployments/{id}/{action}");
            match auth.send::<Deployment>("POST", &path, None::<&()>).await {
                Ok(deployment) => page.answered(deployment),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let redeploy = move |_| {
        let version = chosen.get_untracked();
        if version.is_empty() {
            return;
        }
        let id = page.id;
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/deployments/{id}/redeploy");
            match auth
                .send::<Deployment>("POST", &path, Some(&Redeploy { version }))
                .await
            {
                Ok(deployment) => page.answered(deployment),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let delete = move |_| {
        if !confirm("Delete this deployment? Its runs stop and it cannot be started again.") {
            return;
        }
        let id = page.id;
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/deployments/{id}");
            match auth.send::<()>("DELETE", &path, None::<&()>).await {
                Ok(()) => navigate("/dashboard", NavigateOptions::default()),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let status = move || page.current.with(|d| d.status);
    view! {
        <div class="actions" data-testid="deployment-actions">
            {move || {
                let status = status();
                let stoppable = !matches!(status, DeploymentStatus::Stopped | DeploymentStatus::Stopping);
                view! {
                    {stoppable.then(|| view! {
                        <button class="button" data-testid="stop" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act("stop")>"Stop"</button>
                    })}
                    {(!stoppable).then(|| view! {
                        <button class="button" data-testid="start" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act("start")>"Start"</button>
                    })}
                    <button class="button" data-testid="restart" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act("restart")>"Restart"</button>
                }
            }}
            <span class="redeploy">
                <label class="visually-hidden" for="redeploy-version">"Version"</label>
                <select id="redeploy-version" data-testid="redeploy-version"
                    on:change=move |ev| chosen.set(event_target_value(&ev))>
                    <option value="">"Another version…"</option>
                    {move || versions.get().and_then(Result::ok).map(|agent| agent.versions.into_iter().map(|v| {
                        let version = v.version.clone();
                        let current = move || page.current.with(|d| d.version == version);
                        view! { <option value=v.version.clone() disabled=current>{format!("v{}", v.version)}</option> }
                    }).collect_view())}
                </select>
                <button class="button" data-testid="redeploy" on:click=redeploy
                    disabled=move || busy.get() || chosen.with(String::is_empty)>"Deploy version"</button>
            </span>
            <button class="button danger" data-testid="delete" disabled=move || busy.get() || page.deleted.get() on:click=delete>"Delete"</button>
        </div>
        <FormError error fields=&[] />
    }
}

/// Runs the deployment with a JSON input and shows the answer.
#[component]
fn RunForm(page: Page) -> impl IntoView {
    let auth = use_auth();
    let input = RwSignal::new(String::from("{}"));
    let example = page.agent;
    // The agent's example input, once, unless the user typed already.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match example.get() {
            Some(Ok(agent)) => {
                if let Some(latest) = agent.latest
                    && input.with_untracked(|text| text == "{}")
                {
                    input.set(latest.example_input);
                }
                true
            }
            _ => false,
        }
    });
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let answer = RwSignal::new(None::<Run>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = match serde_json::from_str::<serde_json::Value>(&input.get_untracked()) {
            Ok(value) => value,
            Err(e) => {
                error.set(Some(ApiError {
                    field: Some("input".to_owned()),
                    ..ApiError::new(
                        code::INVALID_PARAMETER,
                        format!("input: not valid JSON ({e})"),
                    )
                }));
                return;
            }
        };
        let path = format!("/api/v1/deployments/{}/runs", page.id);
        let request = StartRun {
            input: value,
            mode: None,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match auth.send::<Run>("POST", &path, Some(&request)).await {
                Ok(run) => answer.set(Some(run)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel run-form" data-testid="run-form">
            <h2>"Run"</h2>
            <p class="muted small" data-testid="run-price">{move || match page.current.with(|d| d.price_credits) {
                0 => "Free for this workspace.".to_owned(),
                1 => "1 credit a run, charged only when it succeeds.".to_owned(),
                price => format!("{price} credits a run, charged only when it succeeds."),
            }}</p>
            <form on:submit=submit class="stack">
                <label class="field">
                    <span>"Input (JSON)"</span>
                    <textarea rows="5" spellcheck="false" data-testid="run-input" prop:value=move || input.get()
                        on:input=move |ev| input.set(event_target_value(&ev))></textarea>
                </label>
                <FieldError error field="input" />
                <div>
                    <button class="button primary" type="submit" data-testid="run-submit" disabled=move || busy.get() || page.deleted.get()>
                        {move || if busy.get() { "Running…" } else { "Run" }}
                    </button>
                </div>
                <FormError error fields=&["input"] />
            </form>
            {move || answer.get().map(|run| view! { <RunAnswer run /> })}
        </section>
    }
}

/// The run the form started: its status, output or error, and its page.
#[component]
fn RunAnswer(run: Run) -> impl IntoView {
    let output = run
        .output
        .as_ref()
        .map(|output| serde_json::to_string_pretty(output).unwrap_or_default());
    view! {
        <div class="run-result" data-testid="run-answer">
            <p>
                <RunBadge status=run.status />
                " " {duration_label(run.duration_us)} " · "
                <A href=run_href(run.id) attr:data-testid="run-link">"Open the run"</A>
            </p>
            {output.map(|output| view! { <pre class="output" data-testid="run-output">{output}</pre> })}
            {run.error.map(|error| view! { <p class="field-error" data-testid="run-error">{error.message}</p> })}
        </div>
    }
}

/// The runs, newest first, filtered by status; new runs come in live.
#[component]
fn RunHistory(page: Page) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        let status = filter.get();
        let path = format!("/api/v1/deployments/{}/runs?status={status}", page.id);
        leptos::task::spawn_local(async move {
            match call::<Items<RunSummary>>("GET", &path, None::<&()>, None).await {
                Ok(list) if filter.try_get_untracked() == Some(status) => {
                    error.set(None);
                    page.runs.try_update(|live| {
                        *live = merge_loaded(list.items, std::mem::take(live), HISTORY_RUNS);
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    });
    let shown = move || {
        let wanted = RunStatus::parse(&filter.get());
        page.runs.with(|runs| {
            runs.iter()
                .filter(|run| wanted.is_none_or(|wanted| run.status == wanted))
                .take(HISTORY_RUNS)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="panel" data-testid="run-history">
            <div class="section-head">
                <h2>"Runs"</h2>
                <label class="inline">
                    <span class="muted small">"Status"</span>
                    <select data-testid="run-filter" on:change=move |ev| filter.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        {RunStatus::ALL.into_iter().map(|status| view! {
                            <option value=status.as_str()>{super::deploy::run_label(status)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <FormError error fields=&[] />
            {move || {
                let runs = shown();
                if runs.is_empty() {
                    return view! { <p class="muted" data-testid="no-runs">"No runs yet."</p> }.into_any();
                }
                view! {
                    <table class="table" data-testid="runs">
                        <thead><tr><th>"Status"</th><th>"Trigger"</th><th>"Duration"</th><th>"Started"</th></tr></thead>
                        <tbody>
                            {runs.into_iter().map(|run| view! {
                                <tr data-run=run.id.to_string()>
                                    <td><A href=run_href(run.id)><RunBadge status=run.status /></A></td>
                                    <td>{run.trigger.clone()}</td>
                                    <td>{duration_label(run.duration_us)}</td>
                                    <td>{super::time::second(run.created_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Each status the deployment went through (as far back as the page read).
#[component]
fn Timeline(page: Page) -> impl IntoView {
    view! {
        <section class="panel" data-testid="timeline">
            <h2>"Timeline"</h2>
            {move || page.trimmed.get().then(|| view! {
                <p class="muted small">"Events older than a week are no longer kept."</p>
            })}
            <ol class="timeline">
                {move || page.steps.get().into_iter().rev().take(50).map(|step| view! {
                    <li data-status=step.status.as_str()>
                        <span class="status" data-status=step.status.as_str()>{status_label(step.status)}</span>
                        <span class="muted small">" v" {step.version} " · " {super::time::second(step.at)}</span>
                        {step.reason.map(|reason| view! { <p class="small">{reason}</p> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// How to run the deployment from a terminal, with a copy button.
#[component]
fn Curl(id: Uuid) -> impl IntoView {
    let command = format!(
        "curl -X POST {}/api/v1/deployments/{id}/runs \\\n  -H \"Authorization: Bearer $AGENTDECK_API_KEY\" \\\n  -H 'content-type: application/json' \\\n  -d '{{\"input\": {{}}}}'",
        origin()
    );
    let copied = RwSignal::new(false);
    let text = command.clone();
    view! {
        <section class="panel curl" data-testid="curl">
            <h2>"From anywhere"</h2>
            <pre class="output" data-testid="curl-command">{command}</pre>
            <button class="button small" data-testid="copy-curl" on:click=move |_| {
                copy(&text);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            <p class="muted small">"Make a key with the runs scope under " <A href="/settings/keys">"API keys"</A> "."</p>
        </section>
    }
}

/// Runs per minute with failures, and p50/p95 durations, over the last
/// hour: drawn from the metrics endpoint, moved on by the run events.
#[component]
fn Metrics(page: Page) -> impl IntoView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 100.0;
    let slot = WIDTH / f64::from(METRICS_MINUTES);
    // The window ends at the newest minute with runs, or now.
    let window = move || {
        let buckets = page.metrics.get();
        let end = buckets
            .last()
            .map(|bucket| bucket.minute)
            .into_iter()
            .chain(now_minute())
            .max();
        (buckets, end)
    };
    let index = move |minute: DateTime<Utc>, end: DateTime<Utc>| {
        let back = (end - minute).num_minutes();
        (back >= 0 && back < i64::from(METRICS_MINUTES))
            .then(|| i64::from(METRICS_MINUTES) - 1 - back)
    };
    let totals = move || {
        page.metrics.with(|buckets| {
            let runs: i64 = buckets.iter().map(|b| b.runs).sum();
            let failed: i64 = buckets.iter().map(|b| b.failed).sum();
            let latest = buckets.last().and_then(|b| b.p50_us.zip(b.p95_us));
            (runs, failed, latest)
        })
    };
    view! {
        <section class="panel metrics" data-testid="metrics">
            <h2>"Last hour"</h2>
            <div class="stats">
                <div class="stat"><span class="stat-label">"Runs"</span>
                    <span class="stat-value" data-testid="metric-runs">{move || totals().0}</span></div>
                <div class="stat"><span class="stat-label">"Error rate"</span>
                    <span class="stat-value" data-testid="metric-errors">{move || {
                        let (runs, failed, _) = totals();
                        if runs == 0 { "—".to_owned() } else { format!("{:.1} %", failed as f64 * 100.0 / runs as f64) }
                    }}</span></div>
                <div class="stat"><span class="stat-label">"p50 / p95 (latest minute)"</span>
                    <span class="stat-value">{move || match totals().2 {
                        Some((p50, p95)) => format!("{} / {}", duration_label(Some(p50)), duration_label(Some(p95))),
                        None => "—".to_owned(),
                    }}</span></div>
            </div>
            <div class="charts">
                <figure>
                    <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Runs per minute; failures in red" data-testid="chart-runs">
                        {move || {
                            let (buckets, end) = window();
                            let Some(end) = end else { return Vec::new() };
                            let most = buckets.iter().map(|b| b.runs).max().unwrap_or(1).max(1) as f64;
                            buckets.into_iter().filter_map(|bucket| {
                                let x = index(bucket.minute, end)? as f64 * slot;
                                let height = bucket.runs as f64 / most * HEIGHT;
                                let failed = bucket.failed as f64 / most * HEIGHT;
                                Some(view! {
                                    <g>
                                        <title>{format!("{}: {} runs, {} failed", super::time::minute(bucket.minute), bucket.runs, bucket.failed)}</title>
                                        <rect class="bar" x=x + 1.0 y=HEIGHT - height width=slot - 2.0 height=height />
                                        <rect class="bar-failed" x=x + 1.0 y=HEIGHT - failed width=slot - 2.0 height=failed />
                                    </g>
                                })
                            }).collect::<Vec<_>>()
                        }}
                    </svg>
                    <figcaption class="muted small">"Runs per minute (failures in red)"</figcaption>
                </figure>
                <figure>
                    <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Run duration p50 and p95 per minute" data-testid="chart-durations">
                        {move || {
                            let (buckets, end) = window();
                            let Some(end) = end else { return Vec::new() };
                            let most = buckets.iter().filter_map(|b| b.p95_us).max().unwrap_or(1).max(1) as f64;
                            let line = |pick: fn(&MetricsBucket) -> Option<i64>| {
                                buckets.iter().filter_map(|bucket| {
                                    let x = index(bucket.minute, end)? as f64 * slot + slot / 2.0;
                                    let y = HEIGHT - pick(bucket)? as f64 / most * (HEIGHT - 4.0);
                                    Some(format!("{x:.1},{y:.1}"))
                                }).collect::<Vec<_>>().join(" ")
                            };
                            vec![
                                view! { <polyline class="line-p95" points=line(|b| b.p95_us) /> },
                                view! { <polyline class="line-p50" points=line(|b| b.p50_us) /> },
                            ]
                        }}
                    </svg>
                    <figcaption class="muted small">"Duration per minute: p50 (solid), p95 (dashed); top = " {move || duration_label(page.metrics.with(|b| b.iter().filter_map(|b| b.p95_us).max()))}</figcaption>
                </figure>
            </div>
        </section>
    }
}

/// The deployment's log lines as they come: follow (keep the newest in
/// view), pause (hold new lines back), and a level filter.
#[component]
fn LogTail(page: Page) -> impl IntoView {
    let level = RwSignal::new(String::from("debug"));
    let paused_at = RwSignal::new(None::<i64>);
    let follow = RwSignal::new(true);
    let tail = NodeRef::<leptos::html::Div>::new();
    let shown = move || {
        let least = rank(&level.get());
        let until = paused_at.get();
        page.logs.with(|logs| {
            logs.iter()
                .filter(|line| until.is_none_or(|until| line.seq <= until))
                .filter(|line| rank(&line.level) >= least)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let held = move || {
        paused_at
            .get()
            .map(|until| {
                page.logs
                    .with(|logs| logs.iter().filter(|line| line.seq > until).count())
            })
            .unwrap_or(0)
    };
    Effect::new(move |_| {
        page.logs.track();
        if follow.get()
            && paused_at.with(Option::is_none)
            && let Some(tail) = tail.get()
        {
            tail.set_scroll_top(tail.scroll_height());
        }
    });
    let toggle_pause = move |_| {
        if paused_at.with(Option::is_some) {
            paused_at.set(None);
        } else {
            let last = page
                .logs
                .with(|logs| logs.last().map(|line| line.seq).unwrap_or(0));
            paused_at.set(Some(last));
        }
    };
    view! {
        <section class="panel log-tail" data-testid="log-tail">
            <div class="section-head">
                <h2>"Logs"</h2>
                <label class="inline">
                    <span class="muted small">"Level"</span>
                    <select data-testid="log-level" on:change=move |ev| level.set(event_target_value(&ev))>
                        <option value="debug">"All"</option>
                        <option value="info">"Info and up"</option>
                        <option value="warn">"Warnings and errors"</option>
                        <option value="error">"Errors"</option>
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="log-follow" prop:checked=move || follow.get()
                        on:change=move |ev| follow.set(event_target_checked(&ev)) />
                    "Follow"
                </label>
                <button class="button small" data-testid="log-pause" on:click=toggle_pause>
                    {move || match (paused_at.get(), held()) {
                        (None, _) => "Pause".to_owned(),
                        (Some(_), 0) => "Resume".to_owned(),
                        (Some(_), held) => format!("Resume ({held} new)"),
                    }}
                </button>
            </div>
            <div class="log-lines" node_ref=tail data-testid="log-lines">
                {move || {
                    let lines = shown();
                    if lines.is_empty() {
                        return view! { <p class="muted small">"No log lines yet."</p> }.into_any();
                    }
                    lines.into_iter().map(|line| view! {
                        <div class=format!("log-line log-{}", line.level) data-level=line.level.clone()>
                            <span class="muted">{super::time::second(line.at)}</span>
                            " " <span class="log-level">{line.level.clone()}</span>
                            " " {line.run.map(|run| view! { <A href=run_href(run) attr:class="log-run">{run.to_string()[..8].to_owned()}</A> " " })}
                            <span class="log-message">{line.message}</span>
                        </div>
                    }).collect_view().into_any()
                }}
            </div>
        </section>
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "debug" | "trace" => 0,
        "info" | "log" => 1,
        "warn" | "warning" => 2,
        _ => 3,
    }
}

/// Config values (text) and secrets (write-only).
#[component]
fn Settings(page: Page) -> impl IntoView {
    let auth = use_auth();
    let config_text = RwSignal::new(
        page.current
            .with_untracked(|d| serde_json::to_string_pretty(&d.config).unwrap_or_default()),
    );
    let config_error = RwSignal::new(None::<ApiError>);
    let config_saved = RwSignal::new(false);
    let save_config = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        config_saved.set(false);
        let config = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
            &config_text.get_untracked(),
        ) {
            Ok(config) => config,
            Err(e) => {
                config_error.set(Some(ApiError {
                    field: Some("config".to_owned()),
                    ..ApiError::new(
                        code::INVALID_PARAMETER,
                        format!("config: a JSON object of text values is needed ({e})"),
                    )
                }));
                return;
            }
        };
        let path = format!("/api/v1/deployments/{}/config", page.id);
        config_error.set(None);
        leptos::task::spawn_local(async move {
            match auth.send::<Deployment>("PUT", &path, Some(&config)).await {
                Ok(deployment) => {
                    page.answered(deployment);
                    config_saved.set(true);
                }
                Err(e) => config_error.set(Some(e)),
            }
        });
    };
    let cap_text = RwSignal::new(page.current.with_untracked(|d| {
        d.spend_cap_credits
            .map(|c| c.to_string())
            .unwrap_or_default()
    }));
    let cap_error = RwSignal::new(None::<ApiError>);
    let save_cap = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = cap_text.get_untracked();
        let monthly_credits = match text.trim() {
            "" => None,
            number => match number.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    cap_error.set(Some(ApiError {
                        field: Some("monthly_credits".to_owned()),
                        ..ApiError::new(
                            code::INVALID_PARAMETER,
                            "monthly_credits: a whole number of credits, or empty for no cap",
                        )
                    }));
                    return;
                }
            },
        };
        let path = format!("/api/v1/deployments/{}/spend-cap", page.id);
        cap_error.set(None);
        leptos::task::spawn_local(async move {
            let cap = SpendCap { monthly_credits };
            match auth.send::<Deployment>("PUT", &path, Some(&cap)).await {
                Ok(deployment) => page.answered(deployment),
                Err(e) => cap_error.set(Some(e)),
            }
        });
    };
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let secret_error = RwSignal::new(None::<ApiError>);
    let change_secrets = move |changes: SecretChanges| {
        let path = format!("/api/v1/deployments/{}/secrets", page.id);
        secret_error.set(None);
        leptos::task::spawn_local(async move {
            match auth.send::<Deployment>("PUT", &path, Some(&changes)).await {
                Ok(deployment) => {
                    page.answered(deployment);
                    name.set(String::new());
                    value.set(String::new());
                }
                Err(e) => secret_error.set(Some(e)),
            }
        });
    };
    let add_secret = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut changes = SecretChanges::new();
        changes.insert(
            name.get_untracked().trim().to_owned(),
            Some(value.get_untracked()),
        );
        change_secrets(changes);
    };
    view! {
        <section class="panel settings" data-testid="deployment-settings">
            <h2>"Config"</h2>
            <p class="muted small">"Text values the agent reads as " <code>"ctx.config"</code> "; runs started after saving see them."</p>
            <form class="stack" on:submit=save_config>
                <textarea rows="4" spellcheck="false" data-testid="config-input" prop:value=move || config_text.get()
                    on:input=move |ev| config_text.set(event_target_value(&ev))></textarea>
                <FieldError error=config_error field="config" />
                <div>
                    <button class="button" type="submit" data-testid="config-save">"Save config"</button>
                    {move || config_saved.get().then(|| view! { <span class="muted small" role="status">" Saved."</span> })}
                </div>
                <FormError error=config_error fields=&["config"] />
            </form>
            <h2>"Spend cap"</h2>
            <p class="muted small" data-testid="spend-cap">{move || page.current.with(|d| match (d.spend_cap_credits, d.spent_this_month) {
                (Some(cap), spent) => format!("{} of {cap} credits spent this month (UTC); runs past the cap are refused.", spent.unwrap_or(0)),
                (None, _) if d.price_credits == 0 => "Runs are free here; a cap would only matter for paid agents.".to_owned(),
                (None, _) => "No cap: runs go on while the wallet has credits.".to_owned(),
            })}</p>
            <form class="inline-form" on:submit=save_cap>
                <label>"Monthly cap (credits)"
                    <input type="number" min="0" placeholder="no cap" data-testid="spend-cap-input"
                        prop:value=move || cap_text.get() on:input=move |ev| cap_text.set(event_target_value(&ev)) />
                </label>
                <button class="button" type="submit" data-testid="spend-cap-save">"Save cap"</button>
            </form>
            <FormError error=cap_error fields=&[] />
            <h2>"Secrets"</h2>
            <p class="muted small">"Kept encrypted; the agent reads them as " <code>"ctx.secrets"</code> ". Values are never shown again."</p>
            <ul class="secret-list" data-testid="secrets">
                {move || page.current.with(|d| d.secrets.clone()).into_iter().map(|secret| {
                    let remove = secret.clone();
                    view! {
                        <li>
                            <code>{secret.clone()}</code>
                            <span class="muted small">" ••••••"</span>
                            <button class="button small" on:click=move |_| {
                                let mut changes = SecretChanges::new();
                                changes.insert(remove.clone(), None);
                                change_secrets(changes);
                            }>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="secret-form" on:submit=add_secret>
                <input type="text" placeholder="NAME" data-testid="secret-name" autocomplete="off"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <input type="password" placeholder="value" data-testid="secret-value" autocomplete="new-password"
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                <button class="button" type="submit" data-testid="secret-save">"Set secret"</button>
            </form>
            <FormError error=secret_error fields=&[] />
        </section>
    }
}

/// The page's origin, for commands to copy.
fn origin() -> String {
    #[cfg(feature = "csr")]
    if let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) {
        return origin;
    }
    "https://agentdeck.example".to_owned()
}

fn copy(text: &str) {
    #[cfg(feature = "csr")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "csr"))]
    let _ = text;
}

fn confirm(question: &str) -> bool {
    #[cfg(feature = "csr")]
    return web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false);
    #[cfg(not(feature = "csr"))]
    {
        let _ = question;
        false
    }
}

/// The current minute, by the browser's clock.
fn now_minute() -> Option<DateTime<Utc>> {
    #[cfg(feature = "csr")]
    {
        let ms = js_sys::Date::now() as i64;
        DateTime::from_timestamp_millis(ms - ms % 60_000)
    }
    #[cfg(not(feature = "csr"))]
    None
}

/// Waits `ms` in the browser (nothing to wait for elsewhere).
pub async fn pause(ms: u32) {
    #[cfg(feature = "csr")]
    gloo_timers::future::TimeoutFuture::new(ms).await;
    #[cfg(not(feature = "csr"))]
    let _ = ms;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_run_counts_into_its_minute() {
        let at: DateTime<Utc> = "2026-11-29T10:15:42Z".parse().unwrap();
        let mut buckets = Vec::new();
        count_run(&mut buckets, at, RunStatus::Succeeded, Some(900));
        count_run(&mut buckets, at, RunStatus::Failed, Some(1_200));
        let earlier: DateTime<Utc> = "2026-11-29T10:14:02Z".parse().unwrap();
        count_run(&mut buckets, earlier, RunStatus::Succeeded, Some(500));
        assert_eq!(buckets.len(), 2);
        assert_eq!(
            buckets[0].minute,
            "2026-11-29T10:14:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!((buckets[1].runs, buckets[1].failed), (2, 1));
    }

    #[test]
    fn levels_rank_from_debug_to_error() {
        assert!(rank("debug") < rank("info"));
        assert!(rank("info") < rank("warn"));
        assert!(rank("warn") < rank("error"));
    }
}
