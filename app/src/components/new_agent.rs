//! Starting a new agent (from a template, or a fork from the agent page)
//! and opening it in the editor.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use types::error::ApiError;
use types::market::CreateAgent;

/// Creates an agent and opens it in the editor; a refusal goes to `error`.
pub fn create_and_edit(
    request: CreateAgent,
    busy: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    navigate: impl Fn(&str, NavigateOptions) + 'static,
) {
    busy.set(true);
    leptos::task::spawn_local(async move {
        match crate::api::authoring::create_agent(request).await {
            Ok(created) => navigate(
                &format!("/editor/{}", created.slug),
                NavigateOptions::default(),
            ),
            Err(e) => {
                busy.set(false);
                error.set(Some(e));
            }
        }
    });
}
