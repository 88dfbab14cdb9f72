//! The dashboard: the live link, a card per deployment whose badge follows
//! the deployment live, and the runs of all of them as they happen.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::use_auth;
use crate::components::deploy::{
    RunBadge, StatusBadge, deployment_event, deployment_href, deployment_topic, duration_label,
    merge_loaded, merge_run_event, run_href,
};
use crate::components::table::Rows;
use crate::live::{LinkState, Live, TopicMessage};
use crate::remote::Remote;
use types::deploy::{Deployment, DeploymentEvent, RunSummary};
use types::live::SystemEvent;

/// How many runs the feed shows.
const FEED_LENGTH: usize = 20;
/// How many cards follow their deployment live (a connection follows at
/// most 64 topics); the newest come first.
const LIVE_CARDS: usize = 48;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let auth = use_auth();
    let connection = move || match live.state.get() {
        LinkState::Connected => "Connected",
        LinkState::Connecting => "Connecting",
        LinkState::Reconnecting { .. } => "Reconnecting",
    };
    let server_time = move || match live.heartbeat.get() {
        Some(SystemEvent::Heartbeat { server_time, .. }) => super::time::second(server_time),
        None => "—".to_owned(),
    };
    let clients = move || match live.heartbeat.get() {
        Some(SystemEvent::Heartbeat { clients, .. }) => clients.to_string(),
        None => "—".to_owned(),
    };
    view! {
        <div class="page dashboard">
            <h1>"Dashboard"</h1>
            <div class="stats">
                <div class="stat">
                    <span class="stat-label">"Live link"</span>
                    <span class="stat-value" data-testid="dash-connection">{connection}</span>
                </div>
                <div class="stat">
                    <span class="stat-label">"Server time"</span>
                    <span class="stat-value" data-testid="dash-server-time">{server_time}</span>
                </div>
                <div class="stat">
                    <span class="stat-label">"Connected clients"</span>
                    <span class="stat-value" data-testid="dash-clients">{clients}</span>
                </div>
            </div>
            {move || match (auth.ready.get(), auth.me.with(Option::is_some)) {
                (true, true) => view! { <Deployments /> }.into_any(),
                (true, false) => view! {
                    <div class="panel panel-empty">
                        <h2>"Your deployments live here"</h2>
                        <p><A href="/signin?return_to=%2Fdashboard">"Sign in"</A> " to deploy agents and watch their runs as they happen."</p>
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
        </div>
    }
}

#[component]
fn Deployments() -> impl IntoView {
    let list = Remote::new(crate::api::deployments::list_deployments);
    let feed = RwSignal::new(Vec::<RunSummary>::new());
    leptos::task::spawn_local(async move {
        if let Ok(loaded) = crate::api::runs::recent_runs().await {
            feed.try_update(|live| {
                *live = merge_loaded(loaded, std::mem::take(live), FEED_LENGTH);
            });
        }
    });
    list.view("Loading your deployments…", move |deployments| {
        if deployments.is_empty() {
            return view! {
                <div class="panel panel-empty" data-testid="no-deployments">
                    <h2>"No deployments yet"</h2>
                    <p>"Pick an agent in the " <A href="/">"marketplace"</A> " and press Deploy: it runs in under a second."</p>
                </div>
            }
            .into_any();
        }
        let names: Vec<(uuid::Uuid, String)> =
            deployments.iter().map(|d| (d.id, d.name.clone())).collect();
        view! {
            <h2>"Deployments"</h2>
            <div class="grid" data-testid="deployments">
                {deployments.into_iter().enumerate().map(|(i, deployment)| {
                    let live = i < LIVE_CARDS;
                    view! { <DeploymentCard deployment feed live /> }
                }).collect_view()}
            </div>
            <RecentRuns feed names />
        }
        .into_any()
    })
}

/// A deployment with its badge and last run, both live.
#[component]
fn DeploymentCard(
    deployment: Deployment,
    feed: RwSignal<Vec<RunSummary>>,
    live: bool,
) -> impl IntoView {
    let link = expect_context::<Live>();
    let status = RwSignal::new(deployment.status);
    let reason = RwSignal::new(deployment.status_reason.clone());
    let version = RwSignal::new(deployment.version.clone());
    let runs_seen = RwSignal::new(0_u32);
    let not_live = RwSignal::new((!live).then(|| "Open it for live status".to_owned()));
    let id = deployment.id;
    let follow = move |message: TopicMessage| {
        let event = match message {
            TopicMessage::Event { event, .. } => event,
            TopicMessage::Refused { message } => {
                not_live.set(Some(format!("Not live: {message}")));
                return;
            }
            TopicMessage::HistoryGone => return,
        };
        match deployment_event(&event) {
            Some(DeploymentEvent::Status {
                status: now,
                reason: why,
                version: running,
                ..
            }) => {
                status.set(now);
                reason.set(why);
                version.set(running);
            }
            Some(event @ DeploymentEvent::Run { .. }) => {
                let new = feed
                    .try_update(|runs| {
                        let new = merge_run_event(runs, id, &event);
                        runs.truncate(FEED_LENGTH);
                        new
                    })
                    .unwrap_or(false);
                if new {
                    runs_seen.update(|n| *n += 1);
                }
            }
            _ => {}
        }
    };
    if live {
        link.follow(deployment_topic(id), Some(deployment.event_seq), follow);
    }
    let last_run =
        move || feed.with(|runs| runs.iter().find(|run| run.deployment_id == id).cloned());
    view! {
        <A href=deployment_href(id) attr:class="card deployment-card" attr:data-testid="deployment-card" attr:data-deployment=id.to_string()>
            <div class="card-head">
                <div class="card-title">
                    <h3>{deployment.name.clone()}</h3>
                    <span class="muted small">{deployment.agent.name.clone()} " · v" {move || version.get()}</span>
                </div>
                <StatusBadge status=status />
            </div>
            {move || reason.get().map(|why| view! { <p class="small field-error">{why}</p> })}
            <p class="card-meta small muted" data-testid="card-last-run">
                {move || match last_run() {
                    Some(run) => view! {
                        "Last run " <RunBadge status=run.status /> " " {duration_label(run.duration_us)}
                    }.into_any(),
                    None => view! { "No recent runs" }.into_any(),
                }}
                {move || (runs_seen.get() > 0).then(|| format!(" · {} since you opened this", runs_seen.get()))}
            </p>
            {move || not_live.get().map(|why| view! { <p class="small muted">{why}</p> })}
        </A>
    }
}

/// The newest runs of all the deployments, live.
#[component]
fn RecentRuns(feed: RwSignal<Vec<RunSummary>>, names: Vec<(uuid::Uuid, String)>) -> impl IntoView {
    let names = StoredValue::new(names);
    let name_of = move |id: uuid::Uuid| {
        names.with_value(|names| {
            names
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| "a deployment".to_owned())
        })
    };
    view! {
        <section class="panel recent-runs" data-testid="recent-runs">
            <h2>"Recent runs"</h2>
            {move || view! {
                <Rows head=&["Deployment", "Status", "Duration", "Started"] rows=feed.get()
                    empty="Runs show up here the moment they start."
                    row=move |run: RunSummary| view! {
                        <tr data-testid="recent-run" data-run=run.id.to_string()>
                            <td><A href=deployment_href(run.deployment_id)>{name_of(run.deployment_id)}</A></td>
                            <td><A href=run_href(run.id)><RunBadge status=run.status /></A></td>
                            <td>{duration_label(run.duration_us)}</td>
                            <td>{super::time::second(run.created_at)}</td>
                        </tr>
                    } />
            }}
        </section>
    }
}
