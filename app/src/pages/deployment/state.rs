//! What the deployment page keeps live and its panels share (`Page`), and
//! how each event of `deployment:<id>` moves it: status, timeline, log
//! lines, runs and the metrics' counts.

use chrono::{DateTime, Timelike, Utc};
use leptos::prelude::*;
use uuid::Uuid;

use crate::components::browser::pause;
use crate::components::deploy::merge_run_event;
use crate::remote::Remote;
use types::AgentDetail;
use types::deploy::{
    Deployment, DeploymentEvent, DeploymentStatus, MetricsBucket, RunStatus, RunSummary,
};

/// Log lines kept in the tail.
const MAX_LOG_LINES: usize = 2_000;
/// The metrics window, in minutes.
pub(super) const METRICS_MINUTES: i32 = 60;

#[derive(Clone, Debug, PartialEq)]
pub(super) struct LogLine {
    pub(super) seq: i64,
    pub(super) level: String,
    pub(super) message: String,
    pub(super) run: Option<Uuid>,
    pub(super) at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Step {
    pub(super) status: DeploymentStatus,
    pub(super) reason: Option<String>,
    pub(super) version: String,
    pub(super) at: DateTime<Utc>,
}

/// Everything the page keeps live, shared by its sections.
#[derive(Clone, Copy)]
pub(super) struct Page {
    pub(super) id: Uuid,
    pub(super) current: RwSignal<Deployment>,
    /// The newest event applied to `current`.
    pub(super) applied: StoredValue<i64>,
    pub(super) steps: RwSignal<Vec<Step>>,
    pub(super) logs: RwSignal<Vec<LogLine>>,
    pub(super) runs: RwSignal<Vec<RunSummary>>,
    pub(super) metrics: RwSignal<Vec<MetricsBucket>>,
    pub(super) deleted: RwSignal<bool>,
    pub(super) refused: RwSignal<Option<String>>,
    /// Events before the timeline's first were purged (older than a week).
    pub(super) trimmed: RwSignal<bool>,
    /// The agent (its versions and example input), read once.
    pub(super) agent: Remote<AgentDetail>,
}

impl Page {
    /// The page's state as of `initial`, before any event.
    pub(super) fn new(initial: &Deployment) -> Self {
        Self {
            id: initial.id,
            current: RwSignal::new(initial.clone()),
            applied: StoredValue::new(initial.event_seq),
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
        }
    }

    /// Takes a deployment an action answered with, unless the live events
    /// already went past it.
    pub(super) fn answered(self, deployment: Deployment) {
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

    pub(super) fn on_event(
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

    pub(super) fn load_metrics(self) {
        leptos::task::spawn_local(async move {
            if let Ok(metrics) =
                crate::api::runs::deployment_metrics(self.id, METRICS_MINUTES).await
            {
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
}
