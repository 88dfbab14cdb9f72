//! The agent page: what an agent does, who made it, what it costs and its
//! published versions.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::get_agent;
use crate::components::agent_card::{price_label, rating_label, runs_label};
use crate::components::status::ErrorPanel;
use crate::model::AgentDetail;
use crate::remote::Remote;

#[component]
pub fn AgentPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let agent = Remote::new(move || get_agent(slug.get()));

    view! {
        <div class="page agent-page">
            <A href="/" attr:class="back">"← Marketplace"</A>
            {move || match agent.get() {
                        None => view! { <div class="panel" data-testid="loading">"Loading agent…"</div> }.into_any(),
                        Some(Ok(agent)) => view! { <AgentDetailView agent /> }.into_any(),
                        Some(Err(error)) if error.is_not_found() => view! {
                            <div class="panel panel-empty" data-testid="agent-not-found">
                                <h1>"Agent not found"</h1>
                                <p>"There is no public agent at this address. It may have been renamed or made private."</p>
                                <A href="/" attr:class="button">"Browse the marketplace"</A>
                            </div>
                        }
                        .into_any(),
                        Some(Err(error)) => view! {
                            <ErrorPanel error retry=Callback::new(move |()| agent.reload()) />
                        }
                        .into_any(),
            }}
        </div>
    }
}

/// Splits a README into paragraphs; Markdown rendering arrives with authoring.
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim().replace('\n', " "))
        .filter(|p| !p.is_empty())
        .collect()
}

#[component]
fn AgentDetailView(agent: AgentDetail) -> impl IntoView {
    let AgentDetail {
        agent: summary,
        readme,
        versions,
        updated_at,
        ..
    } = agent;
    let rating = summary
        .rating
        .map(|r| {
            format!(
                "★ {} from {} ratings",
                rating_label(r),
                summary.rating_count
            )
        })
        .unwrap_or_else(|| "No ratings yet".to_owned());
    view! {
        <article>
            <header class="agent-header">
                <span class="agent-icon large" aria-hidden="true">{summary.icon.clone()}</span>
                <div>
                    <h1 data-testid="agent-name">{summary.name.clone()}</h1>
                    <p class="lede">{summary.summary.clone()}</p>
                    <p class="muted">
                        "by " <strong>{summary.author.display_name.clone()}</strong>
                        " · @" {summary.author.handle.clone()}
                    </p>
                </div>
            </header>
            <div class="agent-layout">
                <section class="agent-readme">
                    <h2>"About this agent"</h2>
                    {paragraphs(&readme).into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
                    <div class="tags">
                        {summary.tags.iter().map(|t| view! { <span class="tag">"#" {t.clone()}</span> }).collect_view()}
                    </div>
                </section>
                <aside class="agent-facts">
                    <dl>
                        <dt>"Price"</dt>
                        <dd class="price">{price_label(summary.price_credits)}</dd>
                        <dt>"Category"</dt>
                        <dd>{summary.category.label()}</dd>
                        <dt>"Usage"</dt>
                        <dd>{runs_label(summary.runs_count)}</dd>
                        <dt>"Rating"</dt>
                        <dd>{rating}</dd>
                        <dt>"Updated"</dt>
                        <dd>{super::time::long_date(updated_at)}</dd>
                    </dl>
                    <h3>"Versions"</h3>
                    {if versions.is_empty() {
                        view! { <p class="muted small" data-testid="no-versions">"No version published yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="versions">
                                {versions.into_iter().map(|v| view! {
                                    <li>
                                        <strong>{v.version}</strong>
                                        <span class="muted small">" · "{super::time::date(v.created_at)}</span>
                                        <p class="small">{v.changelog}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </aside>
            </div>
        </article>
    }
}
