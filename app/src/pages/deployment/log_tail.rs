//! The log tail: the deployment's log lines as they come, with follow,
//! pause (new lines held back) and a level filter.

use leptos::prelude::*;
use leptos_router::components::A;

use super::state::Page;
use crate::components::deploy::run_href;
use crate::components::form::Filter;

/// The deployment's log lines as they come: follow (keep the newest in
/// view), pause (hold new lines back), and a level filter.
#[component]
pub(super) fn LogTail(page: Page) -> impl IntoView {
    let level = RwSignal::new(String::from("debug"));
    let paused_at = RwSignal::new(None::<i64>);
    let follow = RwSignal::new(true);
    let tail = NodeRef::<leptos::html::Div>::new();
    let shown = move || {
        let least = rank(&level.get());
        let until = paused_at.get();
        page.logs.with(|logs| {
            logs.iter()
                .filter(|line| until.is_none_or(|until| line.seq <= until))
                .filter(|line| rank(&line.level) >= least)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let held = move || {
        paused_at
            .get()
            .map(|until| {
                page.logs
                    .with(|logs| logs.iter().filter(|line| line.seq > until).count())
            })
            .unwrap_or(0)
    };
    Effect::new(move |_| {
        page.logs.track();
        if follow.get()
            && paused_at.with(Option::is_none)
            && let Some(tail) = tail.get()
        {
            tail.set_scroll_top(tail.scroll_height());
        }
    });
    let toggle_pause = move |_| {
        if paused_at.with(Option::is_some) {
            paused_at.set(None);
        } else {
            let last = page
                .logs
                .with(|logs| logs.last().map(|line| line.seq).unwrap_or(0));
            paused_at.set(Some(last));
        }
    };
    view! {
        <section class="panel log-tail" data-testid="log-tail">
            <div class="section-head">
                <h2>"Logs"</h2>
                <Filter label="Level" testid="log-level" value=level>
                    <option value="debug">"All"</option>
                    <option value="info">"Info and up"</option>
                    <option value="warn">"Warnings and errors"</option>
                    <option value="error">"Errors"</option>
                </Filter>
                <label class="check">
                    <input type="checkbox" data-testid="log-follow" prop:checked=move || follow.get()
                        on:change=move |ev| follow.set(event_target_checked(&ev)) />
                    "Follow"
                </label>
                <button class="button small" data-testid="log-pause" on:click=toggle_pause>
                    {move || match (paused_at.get(), held()) {
                        (None, _) => "Pause".to_owned(),
                        (Some(_), 0) => "Resume".to_owned(),
                        (Some(_), held) => format!("Resume ({held} new)"),
                    }}
                </button>
            </div>
            <div class="log-lines" node_ref=tail data-testid="log-lines">
                {move || {
                    let lines = shown();
                    if lines.is_empty() {
                        return view! { <p class="muted small">"No log lines yet."</p> }.into_any();
                    }
                    lines.into_iter().map(|line| view! {
                        <div class=format!("log-line log-{}", line.level) data-level=line.level.clone()>
                            <span class="muted">{crate::pages::time::second(line.at)}</span>
                            " " <span class="log-level">{line.level.clone()}</span>
                            " " {line.run.map(|run| view! { <A href=run_href(run) attr:class="log-run">{run.to_string()[..8].to_owned()}</A> " " })}
                            <span class="log-message">{line.message}</span>
                        </div>
                    }).collect_view().into_any()
                }}
            </div>
        </section>
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "debug" | "trace" => 0,
        "info" | "log" => 1,
        "warn" | "warning" => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rank_from_debug_to_error() {
        assert!(rank("debug") < rank("info"));
        assert!(rank("info") < rank("warn"));
        assert!(rank("warn") < rank("error"));
    }
}
