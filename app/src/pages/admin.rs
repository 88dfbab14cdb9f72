//! The platform administrators' page: the job queue (depth per kind, and
//! the dead jobs with their last error, to retry or discard), credit
//! grants with a reason, and the local mail outbox.

use leptos::prelude::*;

use crate::api::admin::{
    GrantOrder, discard_job, grant_credits, job_queue, mail_outbox, retry_job,
};
use crate::auth::SignedInPage;
use crate::components::form::FormError;
use crate::components::table::Rows;
use crate::remote::Remote;
use types::JobId;
use types::billing::{GrantCredits as Grant, Granted};
use types::error::ApiError;
use types::jobs::{DeadJob, KindDepth};

#[component]
pub fn AdminJobsPage() -> impl IntoView {
    view! { <SignedInPage class="settings-page" title="Job queue" testid="admin-jobs"><Queue /><Outbox /></SignedInPage> }
}

#[component]
fn Queue() -> impl IntoView {
    let overview = Remote::new(job_queue);
    let error = RwSignal::new(None::<ApiError>);
    // Retries (`true`) or discards a dead job.
    let act = move |id: i64, retry: bool| {
        error.set(None);
        leptos::task::spawn_local(async move {
            let id = JobId(id);
            let done = if retry {
                retry_job(id).await
            } else {
                discard_job(id).await
            };
            match done {
                Ok(()) => overview.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <div class="actions">
            <button class="button small" data-testid="refresh-jobs" on:click=move |_| overview.reload()>"Refresh"</button>
        </div>
        <FormError error fields=&[] />
        {overview.view("Loading the queue…", move |overview| view! {
            <section class="panel">
                <h2>"Depth"</h2>
                <Rows head=&["Kind", "Ready", "Oldest wait", "Scheduled", "Running", "Retrying", "Dead"]
                    rows=overview.kinds testid="job-kinds" empty="The queue is empty."
                    row=|kind: KindDepth| view! {
                        <tr data-kind=kind.kind.clone()>
                            <td><code>{kind.kind.clone()}</code></td>
                            <td>{kind.ready}</td>
                            <td>{kind.oldest_ready_seconds.map_or("—".to_owned(), |s| format!("{s:.1} s"))}</td>
                            <td>{kind.scheduled}</td>
                            <td>{kind.running}</td>
                            <td>{kind.retrying}</td>
                            <td>{kind.dead}</td>
                        </tr>
                    } />
            </section>
            <section class="panel">
                <h2>"Dead jobs"</h2>
                <Rows head=&["Job", "Attempts", "Last error", "Died", ""] rows=overview.dead
                    testid="dead-jobs" empty="No dead jobs." empty_testid="no-dead-jobs"
                    row=move |job: DeadJob| {
                        let id = job.id;
                        view! {
                            <tr data-job=id>
                                <td><code>{job.kind}</code> " #" {id}</td>
                                <td>{job.attempts}</td>
                                <td class="small">{job.last_error.unwrap_or_default()}</td>
                                <td>{super::time::second(job.died_at)}</td>
                                <td>
                                    <button class="button small" data-testid="retry-job"
                                        on:click=move |_| act(id, true)>"Retry"</button>
                                    <button class="button small" data-testid="discard-job"
                                        on:click=move |_| act(id, false)>"Discard"</button>
                                </td>
                            </tr>
                        }
                    } />
            </section>
            // Only administrators get this far.
            <GrantCredits />
        })}
    }
}

/// Gives a workspace credits, with the reason the audit log keeps.
#[component]
fn GrantCredits() -> impl IntoView {
    let workspace = RwSignal::new(String::new());
    let credits = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<Granted>);
    let busy = RwSignal::new(false);
    // One key per grant filled in: a second click, or a retry after a lost
    // answer, grants once.
    let key = RwSignal::new(fresh_key());
    let grant = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = Grant {
            workspace: workspace.get_untracked().trim().to_owned(),
            credits: credits.get_untracked().trim().parse().unwrap_or(0),
            reason: reason.get_untracked(),
        };
        error.set(None);
        done.set(None);
        busy.set(true);
        let idempotency_key = key.get_untracked();
        leptos::task::spawn_local(async move {
            let order = GrantOrder {
                grant: request,
                idempotency_key: Some(idempotency_key),
            };
            match grant_credits(order).await {
                Ok(granted) => {
                    done.set(Some(granted));
                    reason.set(String::new());
                    key.set(fresh_key());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel" data-testid="grant-credits">
            <h2>"Grant credits"</h2>
            <form class="stack" on:submit=grant>
                <label>"Workspace (slug)"
                    <input type="text" required prop:value=move || workspace.get()
                        on:input=move |ev| { workspace.set(event_target_value(&ev)); key.set(fresh_key()); } />
                </label>
                <label>"Credits"
                    <input type="number" min="1" required prop:value=move || credits.get()
                        on:input=move |ev| { credits.set(event_target_value(&ev)); key.set(fresh_key()); } />
                </label>
                <label>"Reason (kept in the audit log)"
                    <input type="text" required minlength="3" maxlength="500" prop:value=move || reason.get()
                        on:input=move |ev| { reason.set(event_target_value(&ev)); key.set(fresh_key()); } />
                </label>
                <button class="button primary" type="submit" disabled=move || busy.get()>"Grant"</button>
            </form>
            <FormError error fields=&[] />
            {move || done.get().map(|granted| view! {
                <p role="status">{format!("Granted. {} now has {} credits.", granted.workspace, granted.balance)}</p>
            })}
        </section>
    }
}

/// A new idempotency key for a grant.
fn fresh_key() -> String {
    #[cfg(feature = "csr")]
    {
        let part = || (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        format!(
            "grant-{:x}-{:x}-{:x}",
            js_sys::Date::now() as u64,
            part(),
            part()
        )
    }
    #[cfg(not(feature = "csr"))]
    String::new()
}

/// Mail written to the local outbox (no SMTP server configured), newest
/// first, so a laptop's links can be followed.
#[component]
fn Outbox() -> impl IntoView {
    let mails = Remote::new(mail_outbox);
    view! {
        <section class="panel" data-testid="outbox">
            <h2>"Mail outbox"</h2>
            <p class="muted small">"Mail goes here when no SMTP server is set (AGENTDECK_SMTP_URL)."</p>
            {mails.view("Loading mail…", |list| if list.is_empty() {
                view! { <p class="muted">"No mail in the outbox."</p> }.into_any()
            } else {
                list.into_iter().map(|mail| view! {
                    <details class="outbox-mail" data-testid="outbox-mail">
                        <summary><strong>{mail.subject}</strong>" to "{mail.to}" · "{super::time::minute(mail.written_at)}</summary>
                        <pre class="outbox-text">{mail.text}</pre>
                    </details>
                }).collect_view().into_any()
            })}
        </section>
    }
}
