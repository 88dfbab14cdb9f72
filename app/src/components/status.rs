//! Loading, error and empty states, so no view is ever blank.

use leptos::prelude::*;

use types::error::ApiError;

#[component]
pub fn ErrorPanel(
    error: ApiError,
    #[prop(optional, into)] retry: Option<Callback<()>>,
) -> impl IntoView {
    let request_id = error.request_id.clone();
    view! {
        <div class="panel panel-error" role="alert" data-testid="error-panel">
            <h2>"We could not load this"</h2>
            <p>{error.message.clone()}</p>
            {request_id.map(|id| view! { <p class="muted small">"Request id: " <code>{id}</code></p> })}
            {retry.map(|retry| view! {
                <button class="button" on:click=move |_| retry.run(())>"Try again"</button>
            })}
        </div>
    }
}

#[component]
pub fn EmptyPanel(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="panel panel-empty">
            <h2>{title}</h2>
            {children()}
        </div>
    }
}

/// Placeholder cards with the shape of real ones while a page loads.
#[component]
pub fn CardSkeletons(count: usize) -> impl IntoView {
    view! {
        <div class="grid" aria-busy="true" aria-label="Loading agents" data-testid="loading">
            {(0..count)
                .map(|_| view! {
                    <div class="card skeleton" aria-hidden="true">
                        <div class="sk sk-icon"></div>
                        <div class="sk sk-line"></div>
                        <div class="sk sk-line short"></div>
                    </div>
                })
                .collect_view()}
        </div>
    }
}
