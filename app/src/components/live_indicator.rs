//! The top bar's live-connection badge.

use leptos::prelude::*;

use crate::live::{LinkState, Live};

#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = expect_context::<Live>();
    let label = move || match live.state.get() {
        LinkState::Connecting => "Connecting…".to_owned(),
        LinkState::Connected => "Live".to_owned(),
        LinkState::Reconnecting { attempt } if attempt > 1 => format!("Reconnecting ({attempt})…"),
        LinkState::Reconnecting { .. } => "Reconnecting…".to_owned(),
    };
    view! {
        <div
            class="live"
            data-testid="live-indicator"
            data-state=move || live.state.get().as_str()
            role="status"
            aria-live="polite"
            title="Live connection to the server"
        >
            <span class="live-dot" aria-hidden="true"></span>
            <span class="live-label">{label}</span>
        </div>
    }
}
