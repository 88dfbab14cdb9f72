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

/// The share of runs that succeeded, in whole percent rounded down (so
/// 99.9 % is never shown as 100 %); nothing before the first run.
pub fn success_rate(runs: i64, succeeded: i64) -> Option<String> {
    (runs > 0).then(|| format!("{}% succeed", succeeded.clamp(0, runs) * 100 / runs))
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

/// `text` in pieces, each marked when it is a word a search matched: the
/// same word in any case, or (both of four letters or more) one beginning
/// the other, as a stem or a completion matched it ("market" for
/// "marketing", "summar" for "Summarizer").
pub fn marks(text: &str, matched: &[String]) -> Vec<(String, bool)> {
    let matches = |word: &str| {
        let word = word.to_lowercase();
        matched.iter().any(|m| {
            *m == word
                || (m.chars().count() >= 4
                    && word.chars().count() >= 4
                    && (word.starts_with(m.as_str()) || m.starts_with(word.as_str())))
        })
    };
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let alphanumeric = first.is_alphanumeric();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_alphanumeric() != alphanumeric)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, after) = rest.split_at(end);
        let marked = alphanumeric && matches(piece);
        match pieces.last_mut() {
            Some((text, last)) if *last == marked => text.push_str(piece),
            _ => pieces.push((piece.to_owned(), marked)),
        }
        rest = after;
    }
    pieces
}

/// `text` with the words a search matched in `<mark>`.
fn marked(text: &str, matched: &[String]) -> impl IntoView + use<> {
    marks(text, matched)
        .into_iter()
        .map(|(piece, marked)| {
            if marked {
                view! { <mark>{piece}</mark> }.into_any()
            } else {
                piece.into_any()
            }
        })
        .collect_view()
}

/// A card; with `matched` (a search's words), those words are marked in
/// its name and summary.
#[component]
pub fn AgentCard(
    agent: AgentSummary,
    #[prop(optional)] matched: Option<Signal<Vec<String>>>,
) -> impl IntoView {
    let href = routes::agent(&agent.slug);
    let matched = matched.unwrap_or_else(|| Signal::stored(Vec::new()));
    let (name, summary) = (agent.name.clone(), agent.summary.clone());
    let rating = agent
        .rating
        .map(|r| format!("★ {} ({})", rating_label(r), agent.rating_count))
        .unwrap_or_else(|| "No ratings yet".to_owned());
    view! {
        <A href=href attr:class="card agent-card" attr:data-testid="agent-card">
            <div class="card-head">
                <span class="agent-icon" aria-hidden="true">{agent.icon.clone()}</span>
                <div class="card-title">
                    <h3>{move || matched.with(|m| marked(&name, m))}</h3>
                    <span class="muted small">"by " {agent.author.display_name.clone()}</span>
                </div>
            </div>
            <p class="card-summary">{move || matched.with(|m| marked(&summary, m))}</p>
            <div class="card-meta">
                <span class="badge">{agent.category.label()}</span>
                <span class="muted small">{rating}</span>
                <span class="muted small" data-testid="card-runs">{runs_label(agent.runs_count)}</span>
                {success_rate(agent.runs_count, agent.runs_succeeded).map(|rate| view! {
                    <span class="muted small" title="Runs that succeeded">{rate}</span>
                })}
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

    #[test]
    fn success_rates_round_down() {
        assert_eq!(success_rate(0, 0), None);
        assert_eq!(success_rate(3, 2).as_deref(), Some("66% succeed"));
        assert_eq!(success_rate(1000, 999).as_deref(), Some("99% succeed"));
        assert_eq!(success_rate(4, 4).as_deref(), Some("100% succeed"));
    }

    fn shown(pieces: &[(String, bool)]) -> String {
        pieces
            .iter()
            .map(|(text, marked)| {
                if *marked {
                    format!("[{text}]")
                } else {
                    text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn matched_words_are_marked_whole_and_nothing_else() {
        let matched = ["sales".to_owned(), "marketing".to_owned(), "ai".to_owned()];
        assert_eq!(
            shown(&marks("Sales Manager: AI-made sales-calls, aid", &matched)),
            "[Sales] Manager: [AI]-made [sales]-calls, aid"
        );
        // A stem and a completion mark the word they begin or end in.
        assert_eq!(
            shown(&marks("Market Researcher", &matched)),
            "[Market] Researcher"
        );
        assert_eq!(
            shown(&marks("Summarizer", &["summar".to_owned()])),
            "[Summarizer]"
        );
        // Nothing matched: one unmarked piece, the text as it was.
        assert_eq!(
            marks("Café — déjà vu", &[]),
            vec![("Café — déjà vu".to_owned(), false)]
        );
        assert!(marks("", &matched).is_empty());
    }
}
