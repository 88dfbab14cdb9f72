//! The job queue for platform administrators: depth per kind, and the dead
//! jobs with their last error, to retry or discard.

use leptos::prelude::*;

use crate::auth::{RequireAuth, use_auth};
use crate::client::call;
use crate::components::form::FormError;
use crate::error::ApiError;
use crate::model::jobs::QueueOverview;
use crate::remote::Remote;

#[component]
pub fn AdminJobsPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <div class="page settings-page" data-testid="admin-jobs">
                <h1>"Job queue"</h1>
                <Queue />
            </div>
        </RequireAuth>
    }
}

#[component]
fn Queue() -> impl IntoView {
    let auth = use_auth();
    let overview =
        Remote::new(|| call::<QueueOverview>("GET", "/api/v1/admin/jobs", None::<&()>, None));
    let error = RwSignal::new(None::<ApiError>);
    let act = move |method: &'static str, path: String| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match auth.send::<()>(method, &path, None::<&()>).await {
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
                {if overview.kinds.is_empty() {
                    view! { <p class="muted">"The queue is empty."</p> }.into_any()
                } else {
                    view! {
                        <table class="table" data-testid="job-kinds">
                            <thead><tr>
                                <th>"Kind"</th><th>"Ready"</th><th>"Oldest wait"</th><th>"Scheduled"</th>
                                <th>"Running"</th><th>"Retrying"</th><th>"Dead"</th>
                            </tr></thead>
                            <tbody>
                                {overview.kinds.into_iter().map(|kind| view! {
                                    <tr data-kind=kind.kind.clone()>
                                        <td><code>{kind.kind.clone()}</code></td>
                                        <td>{kind.ready}</td>
                                        <td>{kind.oldest_ready_seconds.map_or("—".to_owned(), |s| format!("{s:.1} s"))}</td>
                                        <td>{kind.scheduled}</td>
                                        <td>{kind.running}</td>
                                        <td>{kind.retrying}</td>
                                        <td>{kind.dead}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
            <section class="panel">
                <h2>"Dead jobs"</h2>
                {if overview.dead.is_empty() {
                    view! { <p class="muted" data-testid="no-dead-jobs">"No dead jobs."</p> }.into_any()
                } else {
                    view! {
                        <table class="table" data-testid="dead-jobs">
                            <thead><tr><th>"Job"</th><th>"Attempts"</th><th>"Last error"</th><th>"Died"</th><th></th></tr></thead>
                            <tbody>
                                {overview.dead.into_iter().map(|job| {
                                    let id = job.id;
                                    view! {
                                        <tr data-job=id>
                                            <td><code>{job.kind}</code> " #" {id}</td>
                                            <td>{job.attempts}</td>
                                            <td class="small">{job.last_error.unwrap_or_default()}</td>
                                            <td>{super::time::second(job.died_at)}</td>
                                            <td>
                                                <button class="button small" data-testid="retry-job"
                                                    on:click=move |_| act("POST", format!("/api/v1/admin/jobs/{id}/retry"))>"Retry"</button>
                                                <button class="button small" data-testid="discard-job"
                                                    on:click=move |_| act("DELETE", format!("/api/v1/admin/jobs/{id}"))>"Discard"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        })}
    }
}
