//! The editor's test-run panel: the example input, run in the real sandbox
//! with the editor's text, and the result.

use leptos::prelude::*;

use crate::api::authoring::test_run;
use crate::code_editor::CodeEditor;
use crate::components::form::{FieldError, FormError};
use crate::components::run_result::RunResult;
use crate::components::schema_form::{Problems, problems};
use types::error::ApiError;
use types::market::{Diagnostic, DraftChanges, RunReport, TestRunRequest};

use super::Edit;

#[component]
pub(super) fn TestRunPanel(
    slug: String,
    work: RwSignal<DraftChanges>,
    diagnostics: RwSignal<Vec<Diagnostic>>,
    #[prop(into)] edit: Edit,
) -> impl IntoView {
    let report = RwSignal::new(None::<RunReport>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let run = move |_| {
        let w = work.get_untracked();
        let request = TestRunRequest {
            source: w.source,
            manifest: w.manifest,
            input: w.example_input,
        };
        let slug = slug.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match test_run(slug, request).await {
                Ok(answer) => {
                    if let Some(failure) = &answer.error
                        && let Some(line) = failure.line
                    {
                        diagnostics.set(vec![Diagnostic {
                            line,
                            column: failure.column.unwrap_or(1),
                            message: failure.message.clone(),
                        }]);
                    }
                    report.set(Some(answer));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel test-run" data-testid="test-run">
            <h2>"Test run"</h2>
            <div class="field" data-testid="test-input">
                <span>"Input (JSON)"</span>
                <CodeEditor
                    initial=work.with_untracked(|w| w.example_input.clone())
                    language="json"
                    label="Test input (JSON)"
                    on_change=Callback::new(move |text: String| edit.run(Box::new(move |w| w.example_input = text)))
                />
            </div>
            <Problems
                problems=Signal::derive(move || work.with(|w| {
                    problems(w.manifest.input_schema.as_ref(), &w.example_input, "example_input")
                }))
                testid="example-problems"
            />
            <button class="button primary" data-testid="run" on:click=run disabled=move || busy.get()>
                {move || if busy.get() { "Running…" } else { "Run in the sandbox" }}
            </button>
            <FieldError error field="input" />
            <FormError error fields=&["input"] />
            {move || report.get().map(|report| view! { <RunResult report /> })}
        </section>
    }
}
