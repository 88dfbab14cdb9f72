//! The run form: a JSON input (the agent's example to start with), the
//! price, and the answer of the run it started, with a link to its page.

use leptos::prelude::*;
use leptos_router::components::A;

use super::state::Page;
use crate::components::deploy::{RunBadge, duration_label, run_href};
use crate::components::form::{FieldError, FormError};
use crate::components::schema_form::InputForm;
use types::deploy::{Run, StartRun};
use types::error::{ApiError, code};

/// Runs the deployment with a JSON input and shows the answer.
#[component]
pub(super) fn RunForm(page: Page) -> impl IntoView {
    let input = RwSignal::new(String::from("{}"));
    let example = page.agent;
    // The agent's example input, once, unless the user typed already.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match example.get() {
            Some(Ok(agent)) => {
                if let Some(latest) = agent.latest
                    && input.with_untracked(|text| text == "{}")
                {
                    input.set(latest.example_input);
                }
                true
            }
            _ => false,
        }
    });
    // The form comes from the input schema of the version deployed (the
    // agent's newest, the one the page reads; another takes JSON).
    let schema = Memo::new(move |_| match example.get() {
        Some(Ok(agent)) => agent
            .latest
            .filter(|latest| page.current.with(|d| d.version == latest.version))
            .and_then(|latest| latest.manifest.input_schema),
        _ => None,
    });
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let answer = RwSignal::new(None::<Run>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = match serde_json::from_str::<serde_json::Value>(&input.get_untracked()) {
            Ok(value) => value,
            Err(e) => {
                error.set(Some(ApiError {
                    field: Some("input".to_owned()),
                    ..ApiError::new(
                        code::INVALID_PARAMETER,
                        format!("input: not valid JSON ({e})"),
                    )
                }));
                return;
            }
        };
        let id = page.id;
        let request = StartRun {
            input: value,
            mode: None,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let run = crate::api::runs::RunOrder {
                request,
                idempotency_key: None,
            };
            match crate::api::runs::start_run(id, run).await {
                Ok(run) => answer.set(Some(run)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel run-form" data-testid="run-form">
            <h2>"Run"</h2>
            <p class="muted small" data-testid="run-price">{move || match page.current.with(|d| d.price_credits) {
                0 => "Free for this workspace.".to_owned(),
                1 => "1 credit a run, charged only when it succeeds.".to_owned(),
                price => format!("{price} credits a run, charged only when it succeeds."),
            }}</p>
            <form on:submit=submit class="stack" novalidate>
                {move || view! {
                    <InputForm schema=schema.get() input label="Input (JSON)" testid="run-input-form" json_testid="run-input" />
                }}
                <FieldError error field="input" />
                <div>
                    <button class="button primary" type="submit" data-testid="run-submit" disabled=move || busy.get() || page.deleted.get()>
                        {move || if busy.get() { "Running…" } else { "Run" }}
                    </button>
                </div>
                <FormError error fields=&["input"] />
            </form>
            {move || answer.get().map(|run| view! { <RunAnswer run /> })}
        </section>
    }
}

/// The run the form started: its status, output or error, and its page.
#[component]
fn RunAnswer(run: Run) -> impl IntoView {
    let output = run
        .output
        .as_ref()
        .map(|output| serde_json::to_string_pretty(output).unwrap_or_default());
    view! {
        <div class="run-result" data-testid="run-answer">
            <p>
                <RunBadge status=run.status />
                " " {duration_label(run.duration_us)} " · "
                <A href=run_href(run.id) attr:data-testid="run-link">"Open the run"</A>
            </p>
            {output.map(|output| view! { <pre class="output" data-testid="run-output">{output}</pre> })}
            {run.summary.error.map(|error| view! { <p class="field-error" data-testid="run-error">{error.message}</p> })}
        </div>
    }
}
