//! The run page: input, output or error, logs, duration, fuel and memory;
//! live while the run is queued or running, with a cancel button.

use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::auth::RequireAuth;
use crate::components::deploy::{
    RunBadge, deployment_event, deployment_href, duration_label, uuid_param,
};
use crate::components::form::FormError;
use crate::live::{Live, TopicMessage};
use crate::remote::Remote;
use types::deploy::{DeploymentEvent, Run, RunStatus};
use types::error::ApiError;

#[component]
pub fn RunPage() -> impl IntoView {
    let id = uuid_param("id");
    view! {
        <RequireAuth>
            <div class="page run-page">
                {move || match id.get() {
                    Some(id) => view! { <Loaded id /> }.into_any(),
                    None => view! { <div class="panel panel-empty"><h2>"No such run"</h2></div> }.into_any(),
                }}
            </div>
        </RequireAuth>
    }
}

#[component]
fn Loaded(id: Uuid) -> impl IntoView {
    let live = expect_context::<Live>();
    let run = Remote::new(move || crate::api::runs::get_run(id));
    // The run's topic is short: read it all. The status moves live; the
    // output and logs come with the run, read again once it finished.
    let live_status = RwSignal::new(None::<RunStatus>);
    live.follow(
        types::topic::TopicRequest::Run(types::RunId(id)).to_string(),
        Some(0),
        move |message| {
            if let TopicMessage::Event { event, .. } = message
                && let Some(DeploymentEvent::Run { status, .. }) = deployment_event(&event)
            {
                live_status.set(Some(status));
            }
        },
    );
    // Read again when the shown run is behind a finish the topic told of
    // (also when that came before the first answer).
    Effect::new(move |_| {
        let finished = live_status.get().is_some_and(RunStatus::is_finished);
        let shown_open = run
            .get()
            .and_then(Result::ok)
            .is_some_and(|shown| !shown.status.is_finished());
        if finished && shown_open {
            run.reload();
        }
    });
    run.view("Loading the run…", move |run_data| {
        view! { <RunView run=run_data reload=run live_status /> }
    })
}

#[component]
fn RunView(
    run: Run,
    reload: Remote<Run>,
    live_status: RwSignal<Option<RunStatus>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let id = run.id;
    let status = run.status;
    let cancel = move |_| {
        leptos::task::spawn_local(async move {
            match crate::api::runs::cancel_run(id).await {
                Ok(_) => reload.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let facts = [
        ("Duration", duration_label(run.duration_us)),
        (
            "Fuel",
            run.fuel_used
                .map_or("—".to_owned(), |fuel| fuel.to_string()),
        ),
        (
            "Peak memory",
            run.peak_memory_bytes
                .map_or("—".to_owned(), |bytes| format!("{} KiB", bytes >> 10)),
        ),
        (
            "Credits",
            match (run.price_credits, run.charged_credits) {
                (0, _) => "free".to_owned(),
                (price, 0) if run.status.is_finished() => {
                    format!("not charged ({price} if it had succeeded)")
                }
                (price, 0) => format!("{price} held"),
                (_, charged) => format!("{charged} charged"),
            },
        ),
        (
            "Language model",
            if run.llm.calls == 0 {
                "not called".to_owned()
            } else {
                format!(
                    "{} {}, {} + {} tokens, {}",
                    run.llm.calls,
                    if run.llm.calls == 1 { "call" } else { "calls" },
                    run.llm.input_tokens,
                    run.llm.output_tokens,
                    match run.llm.credits {
                        0 => "not charged".to_owned(),
                        credits => format!("{credits} credits"),
                    }
                )
            },
        ),
        ("Trigger", run.trigger.clone()),
        ("Started", super::time::second(run.created_at)),
        (
            "Finished",
            run.finished_at.map_or("—".to_owned(), super::time::second),
        ),
    ];
    view! {
        <A href=deployment_href(run.deployment_id) attr:class="back" attr:data-testid="run-deployment">"← Deployment"</A>
        <header class="deployment-header">
            <h1>"Run " <code>{run.id.to_string()[..8].to_owned()}</code></h1>
            {move || {
                // The newer of the two: the run as read, or what the topic said.
                let status = match live_status.get() {
                    Some(live) if !status.is_finished() => live,
                    _ => status,
                };
                view! { <RunBadge status /> }
            }}
        </header>
        {move || (!live_status.get().unwrap_or(status).is_finished() && !status.is_finished()).then(|| view! {
            <div class="actions">
                <button class="button" data-testid="cancel-run" on:click=cancel>"Cancel"</button>
            </div>
        })}
        <FormError error fields=&[] />
        <dl class="facts panel" data-testid="run-facts">
            {facts.into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
        </dl>
        <section class="panel">
            <h2>"Input"</h2>
            <pre class="output" data-testid="run-input-shown">{pretty(&run.input)}</pre>
            {run.output.as_ref().map(|output| view! {
                <h2>"Output"</h2>
                <pre class="output" data-testid="run-output">{pretty(output)}</pre>
            })}
            {run.error.clone().map(|failure| {
                let at = failure.line.map(|line| format!(" (line {line}, column {})", failure.column.unwrap_or(1)));
                view! {
                    <h2>"Error"</h2>
                    <p class="field-error" data-testid="run-error"><code>{failure.code}</code> " " {failure.message} {at}</p>
                }
            })}
            <h2>"Logs"</h2>
            {if run.logs.is_empty() {
                view! { <p class="muted small">"No log lines."</p> }.into_any()
            } else {
                view! {
                    <ol class="logs" data-testid="run-logs">
                        {run.logs.iter().map(|line| {
                            let level = line.get("level").and_then(|l| l.as_str()).unwrap_or("info").to_owned();
                            let message = line.get("message").and_then(|m| m.as_str()).map_or_else(|| line.to_string(), str::to_owned);
                            view! { <li class=format!("log-{level}")>{message}</li> }
                        }).collect_view()}
                    </ol>
                    {run.logs_truncated.then(|| view! { <p class="muted small">"Later lines were not kept."</p> })}
                }.into_any()
            }}
        </section>
    }
}
