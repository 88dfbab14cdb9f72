//! Settings › Webhooks: the active workspace's outgoing webhook endpoints
//! (admins and owners add and delete them; the secret is shown once), a
//! "send test event" button, and each endpoint's delivery log, read again
//! every two seconds while the page is open, so a delivery's state moves
//! as it happens.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::triggers::{
    create_webhook_endpoint, delete_webhook_endpoint, list_webhook_deliveries,
    list_webhook_endpoints, redeliver_webhook, test_webhook_endpoint,
};
use crate::auth::{SignedInPage, use_auth};
use crate::components::browser::pause;
use crate::components::form::FormError;
use crate::pages::settings::SettingsNav;
use crate::pages::time::second;
use crate::remote::Remote;
use types::error::ApiError;
use types::webhooks::{EVENT_TYPES, NewWebhookEndpoint, WebhookEndpointWithSecret};

/// How often an open log is read again.
const LOG_EVERY_MS: u32 = 2_000;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! { <SignedInPage class="settings-page" title="Settings"><SettingsNav /><Endpoints /></SignedInPage> }
}

#[component]
fn Endpoints() -> impl IntoView {
    let auth = use_auth();
    let workspace = move || {
        auth.active_workspace()
            .filter(|w| !w.personal)
            .map(|w| w.slug)
    };
    let endpoints = Remote::new(move || list_webhook_endpoints(workspace()));
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec!["run.failed".to_owned()]);
    let made = RwSignal::new(None::<WebhookEndpointWithSecret>);
    let open = RwSignal::new(None::<Uuid>);
    let error = RwSignal::new(None::<ApiError>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let endpoint = NewWebhookEndpoint {
            url: url.get_untracked(),
            description: Some(description.get_untracked()),
            event_types: chosen.get_untracked(),
            workspace: workspace(),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match create_webhook_endpoint(endpoint).await {
                Ok(endpoint) => {
                    open.set(Some(endpoint.endpoint.id));
                    made.set(Some(endpoint));
                    url.set(String::new());
                    description.set(String::new());
                    endpoints.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |id: Uuid| {
        leptos::task::spawn_local(async move {
            match delete_webhook_endpoint(id).await {
                Ok(()) => endpoints.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        {move || made.get().map(|shown| view! {
            <section class="panel panel-notice" role="status" data-testid="new-endpoint">
                <h2>"Your endpoint's signing secret"</h2>
                <p>"Copy it now: it will not be shown again. Verify each delivery with it (Standard Webhooks)."</p>
                <code class="token" data-testid="endpoint-secret">{shown.secret}</code>
                <button class="button" on:click=move |_| made.set(None)>"I have copied it"</button>
            </section>
        })}
        <section class="panel">
            <h2>"Add an endpoint"</h2>
            <p class="muted small">{move || auth.active_workspace().map(|w| format!(
                "Events of the {} workspace are posted to it, signed. Admins and owners manage endpoints.", w.name
            ))}</p>
            <form class="stack" on:submit=add data-testid="endpoint-form">
                <label>"URL"
                    <input type="url" name="endpoint-url" required placeholder="https://example.com/agentdeck"
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                </label>
                <label>"Description"
                    <input type="text" name="endpoint-description" maxlength="200"
                        prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) />
                </label>
                <fieldset class="scopes">
                    <legend>"Events"</legend>
                    {EVENT_TYPES.iter().map(|kind| {
                        let kind = (*kind).to_owned();
                        let name = kind.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" name="event-type" value=kind.clone()
                                    prop:checked={let kind = kind.clone(); move || chosen.with(|c| c.contains(&kind))}
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|k| *k != kind);
                                            if on { c.push(kind.clone()); }
                                        });
                                    } />
                                <code>{name}</code>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <FormError error fields=&[] />
                <button class="button primary" type="submit" data-testid="add-endpoint">"Add endpoint"</button>
            </form>
        </section>
        <section class="panel">
            <h2>"Endpoints"</h2>
            {endpoints.view("Loading endpoints…", move |list| if list.is_empty() {
                view! { <p class="muted" data-testid="no-endpoints">"No endpoints yet."</p> }.into_any()
            } else { view! {
                <ul class="plain">{list.into_iter().map(|endpoint| {
                    let id = endpoint.id;
                    view! {
                        <li class="endpoint" data-testid="endpoint">
                            <p><code>{endpoint.url.clone()}</code>
                                {(!endpoint.enabled).then(|| view! { <span class="badge">{endpoint.disabled_reason.clone().unwrap_or_else(|| "Off".to_owned())}</span> })}</p>
                            <p class="muted small">{endpoint.event_types.join(", ")}</p>
                            <button class="button small" data-testid="send-test" on:click=move |_| {
                                open.set(Some(id));
                                leptos::task::spawn_local(async move {
                                    if let Err(e) = test_webhook_endpoint(id).await {
                                        error.set(Some(e));
                                    }
                                });
                            }>"Send test event"</button>
                            <button class="button small" on:click=move |_| open.set(Some(id))>"Delivery log"</button>
                            <button class="button small" on:click=move |_| remove(id)>"Delete"</button>
                            {move || (open.get() == Some(id)).then(|| view! { <DeliveryLog id /> })}
                        </li>
                    }
                }).collect_view()}</ul>
            }.into_any() })}
        </section>
    }
}

/// The endpoint's newest deliveries, read again every two seconds.
#[component]
fn DeliveryLog(id: Uuid) -> impl IntoView {
    let log = Remote::new(move || list_webhook_deliveries(id));
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    leptos::task::spawn_local(async move {
        loop {
            pause(LOG_EVERY_MS).await;
            if alive.try_get_value() != Some(true) {
                return;
            }
            log.reload();
        }
    });
    let redeliver = move |delivery: i64| {
        leptos::task::spawn_local(async move {
            let _ = redeliver_webhook(delivery).await;
            log.reload();
        });
    };
    view! {
        <div class="delivery-log" data-testid="delivery-log">
            {log.view("Loading the log…", move |deliveries| if deliveries.is_empty() {
                view! { <p class="muted small">"No deliveries yet."</p> }.into_any()
            } else { view! {
                <table class="table small">
                    <thead><tr><th>"Event"</th><th>"Id"</th><th>"State"</th><th>"Attempts"</th><th>"Answer"</th><th>"When"</th><th></th></tr></thead>
                    <tbody>{deliveries.into_iter().map(|delivery| {
                        let last = delivery.attempt_log.last().cloned();
                        let finished = delivery.state != "pending";
                        let did = delivery.id;
                        view! {
                            <tr data-testid="delivery" data-state=delivery.state.clone()>
                                <td>{delivery.event_type.clone()}</td>
                                <td><code>{delivery.event_id.clone()}</code></td>
                                <td data-testid="delivery-state">{delivery.state.clone()}</td>
                                <td>{delivery.attempts}</td>
                                <td>{last.map(|a| match (a.status, a.error) {
                                    (Some(status), _) => format!("{status} in {} ms", a.duration_ms),
                                    (None, Some(error)) => error,
                                    (None, None) => String::new(),
                                }).unwrap_or_default()}</td>
                                <td>{second(delivery.created_at)}</td>
                                <td>{finished.then(|| view! { <button class="button small" on:click=move |_| redeliver(did)>"Redeliver"</button> })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            }.into_any() })}
        </div>
    }
}
