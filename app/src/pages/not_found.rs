//! The client-side 404 page.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    let location = use_location();
    view! {
        <div class="panel panel-empty not-found" data-testid="not-found">
            <p class="big">"404"</p>
            <h1>"This page does not exist"</h1>
            <p class="muted">"Nothing lives at " <code>{move || location.pathname.get()}</code> "."</p>
            <A href="/" attr:class="button primary">"Go to the marketplace"</A>
        </div>
    }
}
