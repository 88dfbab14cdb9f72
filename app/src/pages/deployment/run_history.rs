//! The deployment's runs, newest first, filtered by status; new runs come
//! in live through `Page::runs`.

use leptos::prelude::*;
use leptos_router::components::A;

use super::state::Page;
use crate::components::deploy::{RunBadge, duration_label, merge_loaded, run_href, run_label};
use crate::components::form::{Filter, FormError};
use crate::components::table::Rows;
use types::deploy::{RunStatus, RunSummary};
use types::error::ApiError;

/// Runs the history keeps.
const HISTORY_RUNS: usize = 100;

/// The runs, newest first, filtered by status; new runs come in live.
#[component]
pub(super) fn RunHistory(page: Page) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        let status = filter.get();
        let id = page.id;
        let wanted = (!status.is_empty()).then(|| status.clone());
        leptos::task::spawn_local(async move {
            match crate::api::runs::list_runs(id, wanted).await {
                Ok(list) if filter.try_get_untracked() == Some(status) => {
                    error.set(None);
                    page.runs.try_update(|live| {
                        *live = merge_loaded(list, std::mem::take(live), HISTORY_RUNS);
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
                <Filter label="Status" testid="run-filter" value=filter>
                    <option value="">"All"</option>
                    {RunStatus::ALL.into_iter().map(|status| view! {
                        <option value=status.as_str()>{run_label(status)}</option>
                    }).collect_view()}
                </Filter>
            </div>
            <FormError error fields=&[] />
            {move || view! {
                <Rows head=&["Status", "Trigger", "Duration", "Started"] rows=shown()
                    testid="runs" empty="No runs yet." empty_testid="no-runs"
                    row=|run: RunSummary| view! {
                        <tr data-run=run.id.to_string()>
                            <td><A href=run_href(run.id)><RunBadge status=run.status /></A></td>
                            <td>{run.trigger.clone()}</td>
                            <td>{duration_label(run.duration_us)}</td>
                            <td>{crate::pages::time::second(run.created_at)}</td>
                        </tr>
                    } />
            }}
        </section>
    }
}
