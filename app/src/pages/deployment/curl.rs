//! How to run the deployment from a terminal: the `curl` command against
//! the REST API (a URL users copy, not a call the page makes).

use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::components::browser::{copy, origin};

/// How to run the deployment from a terminal, with a copy button.
#[component]
pub(super) fn Curl(id: Uuid) -> impl IntoView {
    let command = format!(
        "curl -X POST {}/api/v1/deployments/{id}/runs \\\n  -H \"Authorization: Bearer $AGENTDECK_API_KEY\" \\\n  -H 'content-type: application/json' \\\n  -d '{{\"input\": {{}}}}'",
        origin()
    );
    let copied = RwSignal::new(false);
    let text = command.clone();
    view! {
        <section class="panel curl" data-testid="curl">
            <h2>"From anywhere"</h2>
            <pre class="output" data-testid="curl-command">{command}</pre>
            <button class="button small" data-testid="copy-curl" on:click=move |_| {
                copy(&text);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            <p class="muted small">"Make a key with the runs scope under " <A href="/settings/keys">"API keys"</A> "."</p>
        </section>
    }
}
