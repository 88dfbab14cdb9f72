//! What the dashboard, deployment, run and agent pages share: status
//! badges, labels, and reading the live events of a deployment.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::A;
use types::topic::TopicRequest;

use crate::live::{Live, TopicMessage};
use types::deploy::{
    Deployment, DeploymentEvent, DeploymentStatus, RunError, RunStatus, RunSummary,
};

/// A deployment's status as a coloured badge; `data-status` carries the
/// machine name for styles and tests.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<DeploymentStatus>) -> impl IntoView {
    view! {
        <span
            class="status"
            data-testid="deployment-status"
            data-status=move || status.get().as_str()
            role="status"
        >
            {move || status_label(status.get())}
        </span>
    }
}

pub fn status_label(status: DeploymentStatus) -> &'static str {
    status.as_str()
}

/// A run's status as a badge.
#[component]
pub fn RunBadge(status: RunStatus) -> impl IntoView {
    view! {
        <span class="status" data-testid="run-status" data-status=status.as_str()>
            {run_label(status)}
        </span>
    }
}

pub fn run_label(status: RunStatus) -> &'static str {
    match status {
        RunStatus::TimedOut => "timed out",
        other => other.as_str(),
    }
}

/// A duration in microseconds, in the unit that reads best.
pub fn duration_label(us: Option<i64>) -> String {
    match us {
        None => "—".to_owned(),
        Some(us) if us < 1_000 => format!("{us} µs"),
        Some(us) if us < 10_000 => format!("{:.1} ms", us as f64 / 1_000.0),
        Some(us) if us < 1_000_000 => format!("{} ms", us / 1_000),
        Some(us) => format!("{:.2} s", us as f64 / 1_000_000.0),
    }
}

/// The event of a `deployment:<id>` frame (an unknown kind is skipped).
pub fn deployment_event(json: &str) -> Option<DeploymentEvent> {
    serde_json::from_str(json).ok()
}

/// The topic of a deployment's events.
pub fn deployment_topic(id: uuid::Uuid) -> String {
    TopicRequest::Deployment(types::DeploymentId(id)).to_string()
}

/// Puts what a run event says into a list of runs, newest first: a new run
/// goes on top, a known one takes the new status. A finished run never goes
/// back to queued or running (an event older than the list may arrive
/// after it was read). Whether the run was new to the list.
pub fn merge_run_event(
    runs: &mut Vec<RunSummary>,
    deployment: uuid::Uuid,
    event: &DeploymentEvent,
) -> bool {
    let DeploymentEvent::Run {
        run,
        status,
        trigger,
        duration_us,
        error,
        at,
    } = event
    else {
        return false;
    };
    let error = error.clone().map(|message| RunError {
        code: status.as_str().to_owned(),
        message,
        line: None,
        column: None,
    });
    if let Some(known) = runs.iter_mut().find(|known| known.id == *run) {
        if known.status.is_finished() && !status.is_finished() {
            return false;
        }
        known.status = *status;
        if duration_us.is_some() {
            known.duration_us = *duration_us;
        }
        if status.is_finished() {
            known.finished_at = Some(*at);
        }
        if error.is_some() {
            known.error = error;
        }
        return false;
    }
    runs.insert(
        0,
        RunSummary {
            id: *run,
            deployment_id: deployment,
            status: *status,
            trigger: trigger.clone(),
            error,
            duration_us: *duration_us,
            fuel_used: None,
            peak_memory_bytes: None,
            created_at: *at,
            finished_at: status.is_finished().then_some(*at),
            price_credits: 0,
            charged_credits: 0,
        },
    );
    true
}

/// The runs the server listed, with what live events said meanwhile (newer
/// runs on top; a run the events saw finish is shown finished), newest
/// first, at most `limit`.
pub fn merge_loaded(
    mut loaded: Vec<RunSummary>,
    live: Vec<RunSummary>,
    limit: usize,
) -> Vec<RunSummary> {
    for run in live.into_iter().rev() {
        match loaded.iter_mut().find(|known| known.id == run.id) {
            Some(known) if run.status.is_finished() && !known.status.is_finished() => *known = run,
            Some(_) => {}
            None => loaded.insert(0, run),
        }
    }
    loaded.sort_by_key(|run| std::cmp::Reverse(run.created_at));
    loaded.truncate(limit);
    loaded
}

/// A deployment just created, coming up: its badge and each step with the
/// time since it was queued, followed live from its first event, and the
/// connections its agent asks for, to bind with consent.
#[component]
pub fn DeployProgress(deployment: Deployment) -> impl IntoView {
    let live = expect_context::<Live>();
    let status = RwSignal::new(deployment.status);
    let reason = RwSignal::new(deployment.status_reason.clone());
    let steps = RwSignal::new(Vec::<(DeploymentStatus, DateTime<Utc>)>::new());
    live.follow(
        deployment_topic(deployment.id),
        Some(0),
        move |message| match message {
            TopicMessage::Event { event, .. } => {
                if let Some(DeploymentEvent::Status {
                    status: now,
                    reason: why,
                    at,
                    ..
                }) = deployment_event(&event)
                {
                    status.set(now);
                    reason.set(why);
                    steps.update(|steps| steps.push((now, at)));
                }
            }
            TopicMessage::HistoryGone | TopicMessage::Refused { .. } => {}
        },
    );
    let href = deployment_href(deployment.id);
    view! {
        <div class="panel deploy-progress" data-testid="deploy-progress">
            <div class="deploy-progress-head">
                <strong>{deployment.name.clone()}</strong>
                <span class="muted small">" v" {deployment.version.clone()}</span>
                <StatusBadge status />
            </div>
            <ol class="steps" data-testid="deploy-steps">
                {move || {
                    let steps = steps.get();
                    let start = steps.first().map(|(_, at)| *at);
                    steps
                        .into_iter()
                        .map(|(step, at)| {
                            let after = start
                                .map(|start| (at - start).num_milliseconds())
                                .unwrap_or_default();
                            view! {
                                <li data-status=step.as_str()>
                                    {status_label(step)}
                                    <span class="muted small">" +" {after} " ms"</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
            {move || reason.get().map(|why| view! { <p class="field-error" data-testid="deploy-reason">{why}</p> })}
            // The accounts the agent acts in are bound here, before its
            // first run (whoever deployed it may change it).
            <crate::components::connections::ConnectionsPanel deployment=deployment.id
                workspace=deployment.workspace.clone() may_change=Signal::stored(true) />
            <A href=href attr:data-testid="open-deployment">"Open the deployment →"</A>
        </div>
    }
}

/// The route parameter `name` as a UUID; `None` when it is not one.
pub fn uuid_param(name: &'static str) -> Memo<Option<uuid::Uuid>> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |_| params.read().get(name).and_then(|text| text.parse().ok()))
}

/// The deployment page's address.
pub fn deployment_href(id: uuid::Uuid) -> String {
    format!("/deployments/{id}")
}

/// The run page's address.
pub fn run_href(id: uuid::Uuid) -> String {
    format!("/runs/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_event(run: uuid::Uuid, status: RunStatus) -> DeploymentEvent {
        DeploymentEvent::Run {
            run,
            status,
            trigger: "api".to_owned(),
            duration_us: status.is_finished().then_some(1_500),
            error: None,
            at: "2026-11-29T10:00:00Z".parse().expect("a time"),
        }
    }

    #[test]
    fn run_events_add_and_update_runs_but_never_reopen_one() {
        let deployment = uuid::Uuid::from_u128(1);
        let (a, b) = (uuid::Uuid::from_u128(2), uuid::Uuid::from_u128(3));
        let mut runs = Vec::new();
        assert!(merge_run_event(
            &mut runs,
            deployment,
            &run_event(a, RunStatus::Queued)
        ));
        assert!(!merge_run_event(
            &mut runs,
            deployment,
            &run_event(a, RunStatus::Running)
        ));
        assert!(merge_run_event(
            &mut runs,
            deployment,
            &run_event(b, RunStatus::Running)
        ));
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a]);
        merge_run_event(&mut runs, deployment, &run_event(a, RunStatus::Succeeded));
        assert_eq!(runs[1].status, RunStatus::Succeeded);
        assert_eq!(runs[1].duration_us, Some(1_500));
        merge_run_event(&mut runs, deployment, &run_event(a, RunStatus::Running));
        assert_eq!(
            runs[1].status,
            RunStatus::Succeeded,
            "a late event reopened it"
        );
        assert_eq!(runs.len(), 2);

        // A list read meanwhile still says running: the live end stays.
        let mut stale = runs.clone();
        stale[1].status = RunStatus::Running;
        let mut older = stale[1].clone();
        older.id = uuid::Uuid::from_u128(4);
        older.created_at = "2026-11-29T09:00:00Z".parse().expect("a time");
        stale.push(older);
        let merged = merge_loaded(stale, runs, 2);
        assert_eq!(merged.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a]);
        assert_eq!(merged[1].status, RunStatus::Succeeded);
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration_label(Some(640)), "640 µs");
        assert_eq!(duration_label(Some(4_300)), "4.3 ms");
        assert_eq!(duration_label(Some(420_000)), "420 ms");
        assert_eq!(duration_label(Some(2_500_000)), "2.50 s");
        assert_eq!(duration_label(None), "—");
    }
}
