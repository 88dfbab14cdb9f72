//! A marketplace card.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::routes;
use types::AgentSummary;

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
        n if n >= 1_000_000 => format!("{}M runs", tenths(n, 1_000_000)),
        n if n >= 1_000 => format!("{}k runs", tenths(n, 1_000)),
        n => format!("{n} runs"),
    }
}

/// `value / unit` rounded to one decimal, in integers: float formatting
/// would pull a float printer into the WASM bundle for this alone.
fn tenths(value: i64, unit: i64) -> String {
    let tenths = (value * 10 + unit / 2) / unit;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A 1–5 rating with one decimal.
pub fn rating_label(rating: f32) -> String {
    tenths((f64::from(rating) * 100.0).round() as i64, 100)
}

#[component]
pub fn AgentCard(agent: AgentSummary) -> impl IntoView {
    let href = routes::agent(&agent.slug);
    let rating = agent
        .rating
        .map(|r| format!("★ {} ({})", rating_label(r), agent.rating_count))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ratings_read_like_float_formatting_would() {
        assert_eq!(runs_label(0), "New");
        assert_eq!(runs_label(999), "999 runs");
        assert_eq!(runs_label(1_000), "1.0k runs");
        assert_eq!(runs_label(12_345), "12.3k runs");
        assert_eq!(runs_label(12_351), "12.4k runs");
        assert_eq!(runs_label(2_950_000), "3.0M runs");
        assert_eq!(rating_label(4.25), "4.3");
        assert_eq!(rating_label(5.0), "5.0");
        assert_eq!(rating_label(3.04), "3.0");
    }
}
