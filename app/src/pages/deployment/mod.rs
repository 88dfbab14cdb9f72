//! The deployment page: its status (live), the actions on it, a run form
//! and the runs as they happen, metrics charts, the status timeline, a log
//! tail, the `curl` to run it from anywhere, the accounts it acts in
//! (connections), its triggers and web embeds, and its config and secrets.
//!
//! Everything live comes from one topic, `deployment:<id>`, followed from a
//! few hundred events before the state the page read: those fill the
//! timeline and the log tail; only events after that state change it.
//!
//! One file per panel; `state` holds what they share (`Page`).

use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::auth::RequireAuth;
use crate::components::connections::ConnectionsPanel;
use crate::components::deploy::{StatusBadge, deployment_event, deployment_topic, uuid_param};
use crate::live::{Live, TopicMessage};
use crate::remote::Remote;
use types::deploy::Deployment;

mod actions;
mod curl;
mod embeds;
mod log_tail;
mod metrics;
mod run_form;
mod run_history;
mod settings;
mod spend_cap;
mod state;
mod timeline;
mod triggers;

use actions::Actions;
use curl::Curl;
use embeds::Embeds;
use log_tail::LogTail;
use metrics::Metrics;
use run_form::RunForm;
use run_history::RunHistory;
use settings::Settings;
use state::Page;
use timeline::Timeline;
use triggers::Triggers;

/// How far back the page reads the topic for its timeline and log tail.
const HISTORY_EVENTS: i64 = 300;

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
    let deployment = Remote::new(move || crate::api::deployments::get_deployment(id));
    deployment.view("Loading the deployment…", move |initial| {
        view! { <DeploymentView initial /> }
    })
}

#[component]
fn DeploymentView(initial: Deployment) -> impl IntoView {
    let live = expect_context::<Live>();
    let baseline = initial.event_seq;
    let page = Page::new(&initial);
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
        {initial.agent_archived.then(|| view! {
            <p class="panel notice" role="status" data-testid="agent-archived">
                "The agent's author archived it. This deployment keeps running; no new deployments of it can be made."
            </p>
        })}
        {move || page.deleted.get().then(|| view! {
            <p class="panel panel-error form-error">"This deployment was deleted."</p>
        })}
        {move || page.refused.get().map(|message| view! {
            <p class="panel panel-error form-error">"Live updates are off: " {message}</p>
        })}
        <Actions page />
        <ConnectionsPanel deployment=initial.id workspace=initial.workspace.clone() may_change=embeds::may_change(page) />
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
        <Triggers page />
        <Embeds page />
        <Settings page />
    }
}
