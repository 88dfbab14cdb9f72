//! The agent editor's route. Authoring (code editor, manifest, test runs)
//! arrives with the authoring work; this page says so plainly.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn EditorPage() -> impl IntoView {
    view! {
        <div class="page">
            <h1>"Editor"</h1>
            <div class="panel panel-empty">
                <h2>"Writing agents in the browser is not open yet"</h2>
                <p>
                    "Agents are small JavaScript programs that run in a WebAssembly sandbox. "
                    "The editor, test runs and publishing come with accounts and the sandbox."
                </p>
                <A href="/" attr:class="button">"See what agents can do"</A>
            </div>
        </div>
    }
}
