//! The timeline: each status the deployment went through, newest first,
//! as far back as the page read its topic.

use leptos::prelude::*;

use super::state::Page;
use crate::components::deploy::status_label;

/// Each status the deployment went through (as far back as the page read).
#[component]
pub(super) fn Timeline(page: Page) -> impl IntoView {
    view! {
        <section class="panel" data-testid="timeline">
            <h2>"Timeline"</h2>
            {move || page.trimmed.get().then(|| view! {
                <p class="muted small">"Events older than a week are no longer kept."</p>
            })}
            <ol class="timeline">
                {move || page.steps.get().into_iter().rev().take(50).map(|step| view! {
                    <li data-status=step.status.as_str()>
                        <span class="status" data-status=step.status.as_str()>{status_label(step.status)}</span>
                        <span class="muted small">" v" {step.version} " · " {crate::pages::time::second(step.at)}</span>
                        {step.reason.map(|reason| view! { <p class="small">{reason}</p> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
