//! The spend cap, inside the settings panel: what was spent this month
//! against it, and a form to set or lift it (admins and owners).

use leptos::prelude::*;

use super::state::Page;
use crate::api::deployments::change_deployment_spend_cap;
use crate::components::form::FormError;
use types::error::{ApiError, code};

/// The cap's heading, line and form (no section of their own: they sit in
/// the settings panel between config and secrets).
#[component]
pub(super) fn SpendCap(page: Page) -> impl IntoView {
    let cap_text = RwSignal::new(page.current.with_untracked(|d| {
        d.spend_cap_credits
            .map(|c| c.to_string())
            .unwrap_or_default()
    }));
    let cap_error = RwSignal::new(None::<ApiError>);
    let save_cap = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = cap_text.get_untracked();
        let monthly_credits = match text.trim() {
            "" => None,
            number => match number.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    cap_error.set(Some(ApiError {
                        field: Some("monthly_credits".to_owned()),
                        ..ApiError::new(
                            code::INVALID_PARAMETER,
                            "monthly_credits: a whole number of credits, or empty for no cap",
                        )
                    }));
                    return;
                }
            },
        };
        let id = page.id;
        cap_error.set(None);
        leptos::task::spawn_local(async move {
            match change_deployment_spend_cap(id, types::deploy::SpendCap { monthly_credits }).await
            {
                Ok(deployment) => page.answered(deployment),
                Err(e) => cap_error.set(Some(e)),
            }
        });
    };
    view! {
        <h2>"Spend cap"</h2>
        <p class="muted small" data-testid="spend-cap">{move || page.current.with(|d| match (d.spend_cap_credits, d.spent_this_month) {
            (Some(cap), spent) => format!("{} of {cap} credits spent this month (UTC); runs past the cap are refused.", spent.unwrap_or(0)),
            (None, _) if d.price_credits == 0 => "Runs are free here; a cap would only matter for paid agents.".to_owned(),
            (None, _) => "No cap: runs go on while the wallet has credits.".to_owned(),
        })}</p>
        <form class="inline-form" on:submit=save_cap>
            <label>"Monthly cap (credits)"
                <input type="number" min="0" placeholder="no cap" data-testid="spend-cap-input"
                    prop:value=move || cap_text.get() on:input=move |ev| cap_text.set(event_target_value(&ev)) />
            </label>
            <button class="button" type="submit" data-testid="spend-cap-save">"Save cap"</button>
        </form>
        <FormError error=cap_error fields=&[] />
    }
}
