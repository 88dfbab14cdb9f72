//! A marketplace card.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::model::AgentSummary;
use crate::routes;

pub fn price_label(credits: i64) -> String {
    match credits {
        0 => "Free".to_owned(),
        1 => "1 credit / run".to_owned(),
        n => format!("{n} credits / run"),
    }
}

pub fn runs_label(runs: i64) -> String {
    match runs {
        0 => "New".to_owned(),
        1 => "1 run".to_owned(),
        n if n >= 1_000_000 => format!("{:.1}M runs", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k runs", n as f64 / 1e3),
        n => format!("{n} runs"),
    }
}

#[component]
pub fn AgentCard(agent: AgentSummary) -> impl IntoView {
    let href = routes::agent(&agent.slug);
    let rating = agent
        .rating
        .map(|r| format!("★ {r:.1} ({})", agent.rating_count))
        .unwrap_or_else(|| "No ratings yet".to_owned());
    view! {
        <A href=href attr:class="card agent-card" attr:data-testid="agent-card">
            <div class="card-head">
                <span class="agent-icon" aria-hidden="true">{agent.icon.clone()}</span>
                <div class="card-title">
                    <h3>{agent.name.clone()}</h3>
                    <span class="muted small">"by " {agent.author.display_name.clone()}</span>
                </div>
            </div>
            <p class="card-summary">{agent.summary.clone()}</p>
            <div class="card-meta">
                <span class="badge">{agent.category.label()}</span>
                <span class="muted small">{rating}</span>
                <span class="muted small">{runs_label(agent.runs_count)}</span>
                <span class="price">{price_label(agent.price_credits)}</span>
            </div>
        </A>
    }
}
