//! The Triggers panel: what runs the deployment by itself. Its schedules
//! (the next five runs of a timing shown as it is typed, before saving)
//! and its webhook URLs (the URL and a `curl` shown once, when made).

use leptos::prelude::*;
use uuid::Uuid;

use super::state::Page;
use crate::api::triggers::{
    change_schedule, create_hook, create_schedule, delete_hook, delete_schedule, list_hooks,
    list_schedules, preview_schedule,
};
use crate::components::browser::copy;
use crate::components::form::FormError;
use crate::pages::time::minute;
use crate::remote::Remote;
use types::error::ApiError;
use types::triggers::{
    HookVerify, HookWithToken, NewHook, NewSchedule, Overlap, Schedule, ScheduleChange,
    SchedulePreviewRequest,
};

#[component]
pub(super) fn Triggers(page: Page) -> impl IntoView {
    view! {
        <section class="panel triggers" data-testid="triggers">
            <h2>"Triggers"</h2>
            <p class="muted small">"Runs that start by themselves: on a schedule, or when another system calls a URL. They run as you, under this deployment's limits and spend cap."</p>
            <Schedules id=page.id />
            <Hooks id=page.id />
        </section>
    }
}

fn timing(schedule: &Schedule) -> String {
    match (&schedule.cron, schedule.every_seconds) {
        (Some(cron), _) => format!("{cron} ({})", schedule.time_zone),
        (None, Some(seconds)) if seconds % 3600 == 0 => format!("every {} h", seconds / 3600),
        (None, Some(seconds)) if seconds % 60 == 0 => format!("every {} min", seconds / 60),
        (None, Some(seconds)) => format!("every {seconds} s"),
        (None, None) => String::new(),
    }
}

#[component]
fn Schedules(id: Uuid) -> impl IntoView {
    let schedules = Remote::new(move || list_schedules(id));
    let name = RwSignal::new(String::new());
    let cron = RwSignal::new("0 9 * * 1-5".to_owned());
    let zone = RwSignal::new("UTC".to_owned());
    let input = RwSignal::new("{}".to_owned());
    let overlap_allowed = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    // The next five slots of what is typed, from the server (one rule for
    // the time zones and their clock changes).
    let preview = Remote::new(move || {
        let request = SchedulePreviewRequest {
            cron: Some(cron.get()),
            time_zone: Some(zone.get()),
            every_seconds: None,
        };
        preview_schedule(request)
    });
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let input = match serde_json::from_str::<serde_json::Value>(&input.get_untracked()) {
            Ok(value) => value,
            Err(e) => {
                error.set(Some(ApiError {
                    field: Some("input".to_owned()),
                    ..ApiError::new(
                        types::error::code::INVALID_PARAMETER,
                        format!("input: not JSON ({e})"),
                    )
                }));
                return;
            }
        };
        let schedule = NewSchedule {
            name: name.get_untracked(),
            cron: Some(cron.get_untracked()),
            time_zone: Some(zone.get_untracked()),
            input: Some(input),
            overlap: Some(if overlap_allowed.get_untracked() {
                Overlap::Allow
            } else {
                Overlap::Skip
            }),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match create_schedule(id, schedule).await {
                Ok(_) => {
                    name.set(String::new());
                    schedules.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle = move |schedule: Uuid, enabled: bool| {
        leptos::task::spawn_local(async move {
            let change = ScheduleChange {
                enabled: Some(enabled),
                ..Default::default()
            };
            match change_schedule(id, schedule, change).await {
                Ok(_) => schedules.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |schedule: Uuid| {
        leptos::task::spawn_local(async move {
            match delete_schedule(id, schedule).await {
                Ok(()) => schedules.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h3>"Schedules"</h3>
        {schedules.view("Loading schedules…", move |list| if list.is_empty() {
            view! { <p class="muted small" data-testid="no-schedules">"No schedules."</p> }.into_any()
        } else { view! {
            <table class="table" data-testid="schedules">
                <thead><tr><th>"Name"</th><th>"When"</th><th>"Next runs"</th><th>"Last"</th><th></th></tr></thead>
                <tbody>{list.into_iter().map(|schedule| {
                    let sid = schedule.id;
                    let enabled = schedule.enabled;
                    view! {
                        <tr data-testid="schedule-row">
                            <td>{schedule.name.clone()}</td>
                            <td><code>{timing(&schedule)}</code></td>
                            <td><ul class="plain small" data-testid="schedule-next">{schedule.upcoming.iter().map(|at| view! { <li>{minute(*at)}</li> }).collect_view()}</ul>
                                {(!enabled).then(|| view! { <span class="badge">"Off"</span> })}</td>
                            <td class="small">{schedule.last_outcome.clone().unwrap_or_default()}</td>
                            <td>
                                <button class="button small" on:click=move |_| toggle(sid, !enabled)>{if enabled { "Turn off" } else { "Turn on" }}</button>
                                <button class="button small" on:click=move |_| remove(sid)>"Delete"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
        }.into_any() })}
        <form class="stack" on:submit=add data-testid="schedule-form">
            <label>"Name"
                <input type="text" name="schedule-name" required maxlength="80" placeholder="Weekday mornings"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <label>"Cron (minute hour day month weekday)"
                <input type="text" name="schedule-cron" prop:value=move || cron.get() on:input=move |ev| cron.set(event_target_value(&ev)) />
            </label>
            <label>"Time zone"
                <input type="text" name="schedule-zone" placeholder="Europe/Berlin" prop:value=move || zone.get() on:input=move |ev| zone.set(event_target_value(&ev)) />
            </label>
            <div class="small" data-testid="schedule-preview">{move || match preview.get() {
                None => view! { <p class="muted">"…"</p> }.into_any(),
                Some(Ok(slots)) => view! {
                    <p class="muted">"Next runs:"</p>
                    <ul class="plain">{slots.upcoming.into_iter().map(|at| view! { <li data-testid="preview-slot">{minute(at)}</li> }).collect_view()}</ul>
                }.into_any(),
                Some(Err(e)) => view! { <p class="field-error" role="alert">{e.message}</p> }.into_any(),
            }}</div>
            <label>"Input (JSON)"
                <textarea name="schedule-input" rows="3" prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev))></textarea>
            </label>
            <label class="check"><input type="checkbox" prop:checked=move || overlap_allowed.get()
                on:change=move |ev| overlap_allowed.set(event_target_checked(&ev)) />
                " Start even while the previous run is still going"</label>
            <FormError error fields=&[] />
            <button class="button" type="submit" data-testid="add-schedule">"Add schedule"</button>
        </form>
    }
}

#[component]
fn Hooks(id: Uuid) -> impl IntoView {
    let hooks = Remote::new(move || list_hooks(id));
    let name = RwSignal::new(String::new());
    let signed = RwSignal::new(false);
    let made = RwSignal::new(None::<HookWithToken>);
    let error = RwSignal::new(None::<ApiError>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let hook = NewHook {
            name: name.get_untracked(),
            verify: Some(if signed.get_untracked() {
                HookVerify::Standard
            } else {
                HookVerify::Token
            }),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match create_hook(id, hook).await {
                Ok(hook) => {
                    made.set(Some(hook));
                    name.set(String::new());
                    hooks.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |hook: Uuid| {
        leptos::task::spawn_local(async move {
            match delete_hook(id, hook).await {
                Ok(()) => hooks.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h3>"Webhook URLs"</h3>
        {move || made.get().map(|hook| {
            let curl = hook.curl.clone();
            view! {
                <div class="panel panel-notice" role="status" data-testid="new-hook">
                    <p>"Copy the URL now: it will not be shown again."</p>
                    <code class="token" data-testid="hook-url">{hook.url.clone()}</code>
                    {hook.secret.clone().map(|secret| view! { <p>"Signing secret: " <code class="token" data-testid="hook-secret">{secret}</code></p> })}
                    <pre class="output" data-testid="hook-curl">{curl.clone()}</pre>
                    <button class="button small" on:click=move |_| copy(&curl)>"Copy curl"</button>
                    <button class="button small" on:click=move |_| made.set(None)>"I have copied it"</button>
                </div>
            }
        })}
        {hooks.view("Loading webhook URLs…", move |list| if list.is_empty() {
            view! { <p class="muted small" data-testid="no-hooks">"No webhook URLs."</p> }.into_any()
        } else { view! {
            <table class="table" data-testid="hooks">
                <thead><tr><th>"Name"</th><th>"URL"</th><th>"Checks"</th><th>"Last used"</th><th></th></tr></thead>
                <tbody>{list.into_iter().map(|hook| {
                    let hid = hook.id;
                    view! {
                        <tr data-testid="hook-row">
                            <td>{hook.name.clone()}</td>
                            <td><code class="small">{hook.url_prefix.clone()}</code></td>
                            <td>{hook.verify.as_str()}</td>
                            <td>{hook.last_used_at.map(minute).unwrap_or_else(|| "never".to_owned())}</td>
                            <td><button class="button small" on:click=move |_| remove(hid)>"Delete"</button></td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
        }.into_any() })}
        <form class="inline-form" on:submit=add data-testid="hook-form">
            <label>"Name"
                <input type="text" name="hook-name" required maxlength="80" placeholder="Orders from the shop"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <label class="check"><input type="checkbox" prop:checked=move || signed.get()
                on:change=move |ev| signed.set(event_target_checked(&ev)) />
                " Signed (Standard Webhooks)"</label>
            <button class="button" type="submit" data-testid="add-hook">"Add URL"</button>
        </form>
        <FormError error fields=&[] />
    }
}
