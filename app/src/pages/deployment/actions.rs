//! The deployment's actions: stop or start, restart, redeploy another
//! version (a rollback is an older one), and delete.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::state::Page;
use crate::api::deployments::{
    delete_deployment, redeploy_deployment, restart_deployment, start_deployment, stop_deployment,
};
use crate::components::browser::confirm;
use crate::components::form::FormError;
use types::deploy::DeploymentStatus;
use types::error::ApiError;

/// What the status buttons ask for.
#[derive(Clone, Copy)]
enum Act {
    Stop,
    Start,
    Restart,
}

/// Stop, start, restart, redeploy another version, delete.
#[component]
pub(super) fn Actions(page: Page) -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let versions = page.agent;
    let chosen = RwSignal::new(String::new());
    let act = move |action: Act| {
        let id = page.id;
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let answer = match action {
                Act::Stop => stop_deployment(id).await,
                Act::Start => start_deployment(id).await,
                Act::Restart => restart_deployment(id).await,
            };
            match answer {
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
            match redeploy_deployment(id, version).await {
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
            match delete_deployment(id).await {
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
                        <button class="button" data-testid="stop" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act(Act::Stop)>"Stop"</button>
                    })}
                    {(!stoppable).then(|| view! {
                        <button class="button" data-testid="start" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act(Act::Start)>"Start"</button>
                    })}
                    <button class="button" data-testid="restart" disabled=move || busy.get() || page.deleted.get() on:click=move |_| act(Act::Restart)>"Restart"</button>
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
