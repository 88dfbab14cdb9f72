//! The marketplace: search, filters (category, tags, free only), sorting and
//! the agent grid. The whole query lives in the URL
//! (`/?q=…&category=…&tags=…&free=true&sort=…`) so a search can be shared.
//!
//! Search runs as the buyer types (after a short pause, replacing the URL
//! rather than adding a history entry per letter); the results of the last
//! search stay until the next one's arrive. Arrow keys move from the search
//! box through the cards and back; Escape clears the box. The words a
//! search matched are marked in the cards, and a search that finds nothing
//! offers the nearest known words ("Did you mean").

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use std::time::Duration;

use crate::api::agents::list_agents;
use crate::components::agent_card::AgentCard;
use crate::components::browser;
use crate::components::status::{CardSkeletons, EmptyPanel, ErrorPanel};
use crate::pages::encode_component;
use types::error::ApiError;
use types::market::AgentSort;
use types::{AgentQuery, AgentSummary, Category};

/// How long typing must pause before the search runs.
const SEARCH_AFTER: Duration = Duration::from_millis(180);

/// The search box, for keys that move the focus back to it.
const SEARCH_BOX: &str = "form.search input[name=q]";

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Loading,
    Ready,
    LoadingMore,
    /// `cursor` is the page that failed, for "Try again".
    Failed {
        error: ApiError,
        cursor: Option<String>,
    },
}

/// What the URL asks for besides the search text.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    category: Option<String>,
    tags: Option<String>,
    free: bool,
    sort: Option<String>,
}

fn marketplace_href(q: &str, filters: &Filters) -> String {
    let mut params = Vec::new();
    if !q.trim().is_empty() {
        params.push(format!("q={}", encode_component(q.trim())));
    }
    if let Some(category) = &filters.category {
        params.push(format!("category={}", encode_component(category)));
    }
    if let Some(tags) = &filters.tags {
        params.push(format!("tags={}", encode_component(tags)));
    }
    if filters.free {
        params.push("free=true".to_owned());
    }
    if let Some(sort) = &filters.sort {
        params.push(format!("sort={}", encode_component(sort)));
    }
    if params.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", params.join("&"))
    }
}

#[component]
pub fn MarketplacePage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let filters = Memo::new(move |_| {
        let query = query.read();
        let param = |name: &str| query.get(name).filter(|v| !v.is_empty());
        Filters {
            category: param("category"),
            tags: param("tags"),
            free: param("free").as_deref() == Some("true"),
            sort: param("sort"),
        }
    });
    let category = Memo::new(move |_| filters.with(|f| f.category.clone()));

    let items = RwSignal::new(Vec::<AgentSummary>::new());
    let matched = RwSignal::new(Vec::<String>::new());
    let suggestion = RwSignal::new(None::<String>);
    let next_cursor = RwSignal::new(None::<String>);
    let phase = RwSignal::new(Phase::Loading);
    // Responses to an outdated search are dropped.
    let generation = StoredValue::new(0_u64);

    let load = move |cursor: Option<String>| {
        let more = cursor.is_some();
        if !more {
            // A new search: the old one's answer is dropped if it still
            // comes, and its cards stay (dimmed) until the new ones arrive.
            generation.update_value(|g| *g += 1);
            next_cursor.set(None);
            suggestion.set(None);
        }
        let this_generation = generation.get_value();
        phase.set(if more {
            Phase::LoadingMore
        } else {
            Phase::Loading
        });
        let f = filters.get_untracked();
        let request = AgentQuery {
            q: Some(q.get_untracked()),
            category: f.category,
            tags: f.tags,
            free: f.free.then_some(true),
            sort: f.sort,
            limit: None,
            cursor: cursor.clone(),
            ..AgentQuery::default()
        };
        leptos::task::spawn_local(async move {
            let result = list_agents(request).await;
            // A newer search started, or the page is gone (navigated away).
            if generation.try_get_value() != Some(this_generation) {
                return;
            }
            match result {
                Ok(page) => {
                    if more {
                        items.update(|items| items.extend(page.items));
                    } else {
                        items.set(page.items);
                        matched.set(page.matched);
                        suggestion.set(page.suggestion);
                    }
                    next_cursor.set(page.next_cursor);
                    phase.set(Phase::Ready);
                }
                Err(error) => {
                    if !more {
                        // A failed search shows its error, not the last
                        // search's cards as if they answered it.
                        items.set(Vec::new());
                    }
                    phase.set(Phase::Failed { error, cursor });
                }
            }
        });
    };

    Effect::new(move |_| {
        q.track();
        filters.track();
        load(None);
    });

    let search_text = RwSignal::new(q.get_untracked());
    // The URL changed from elsewhere (a link, Back): the box shows it. Not
    // when it is the box's own text (trimmed), so a space just typed stays.
    Effect::new(move |_| {
        let q = q.get();
        if search_text.with_untracked(|text| text.trim() != q) {
            search_text.set(q);
        }
    });
    let navigate = use_navigate();
    // Counts keystrokes, so a pause's search runs only if none came after.
    let typed = StoredValue::new(0_u64);
    let search = move |while_typing: bool| {
        typed.update_value(|n| *n += 1);
        let href = marketplace_href(&search_text.get_untracked(), &filters.get_untracked());
        let here = marketplace_href(&q.get_untracked(), &filters.get_untracked());
        if href != here {
            navigate(
                &href,
                NavigateOptions {
                    // One history entry per search, not per letter.
                    replace: while_typing && !q.get_untracked().is_empty(),
                    scroll: !while_typing,
                    ..NavigateOptions::default()
                },
            );
        }
    };
    let search = StoredValue::new(search);
    let on_input = move |ev: leptos::ev::Event| {
        search_text.set(event_target_value(&ev));
        typed.update_value(|n| *n += 1);
        let mine = typed.get_value();
        set_timeout(
            move || {
                if typed.try_get_value() == Some(mine) {
                    search.with_value(|search| search(true));
                }
            },
            SEARCH_AFTER,
        );
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        search.with_value(|search| search(false));
    };
    let on_search_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        // Down to the first card (the guard moves the focus).
        "ArrowDown"
            if browser::focus_first("[data-testid=agent-grid] [data-testid=agent-card]") =>
        {
            ev.prevent_default();
        }
        "Escape" if !search_text.with_untracked(String::is_empty) => {
            ev.prevent_default();
            search_text.set(String::new());
            search.with_value(|search| search(true));
        }
        _ => {}
    };
    // In the grid the arrows go card to card (in reading order), and up
    // from the first card back to the search box.
    let on_grid_key = move |ev: leptos::ev::KeyboardEvent| {
        let forward = match ev.key().as_str() {
            "ArrowDown" | "ArrowRight" => true,
            "ArrowUp" | "ArrowLeft" => false,
            _ => return,
        };
        if browser::focus_sibling(&ev, forward) || (!forward && browser::focus_first(SEARCH_BOX)) {
            ev.prevent_default();
        }
    };
    let navigate_to = use_navigate();
    let refine = move |change: Box<dyn FnOnce(&mut Filters)>| {
        let mut f = filters.get_untracked();
        change(&mut f);
        navigate_to(
            &marketplace_href(&q.get_untracked(), &f),
            NavigateOptions::default(),
        );
    };
    let refine = StoredValue::new(refine);

    let chip = move |slug: Option<&'static str>, label: &'static str| {
        let href = move || {
            let mut f = filters.get();
            f.category = slug.map(str::to_owned);
            marketplace_href(&q.get(), &f)
        };
        let active = move || category.get().as_deref() == slug;
        view! {
            <A href=href attr:class=move || if active() { "chip active" } else { "chip" }>
                {label}
            </A>
        }
    };

    view! {
        <section class="hero">
            <h1>"Agents that do the work"</h1>
            <p class="lede">
                "Find a specialised AI agent, deploy it in under a second and pay only for the runs you use."
            </p>
            <form class="search" role="search" on:submit=on_submit>
                <input
                    type="search"
                    name="q"
                    placeholder="Search agents — “email”, “SEO audit”, “support”…"
                    aria-label="Search agents"
                    maxlength="200"
                    autocomplete="off"
                    prop:value=move || search_text.get()
                    on:input=on_input
                    on:keydown=on_search_key
                />
                <button class="button primary" type="submit">"Search"</button>
            </form>
            <nav class="chips" aria-label="Categories">
                {chip(None, "All")}
                {Category::ALL.into_iter().map(|c| chip(Some(c.slug()), c.label())).collect_view()}
            </nav>
            <div class="refine">
                <label class="check">
                    <input type="checkbox" name="free" prop:checked=move || filters.with(|f| f.free)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            refine.with_value(|r| r(Box::new(move |f| f.free = on)));
                        } />
                    "Free only"
                </label>
                {move || filters.with(|f| f.tags.clone()).map(|tags| view! {
                    <button class="chip active" title="Remove the tag filter"
                        on:click=move |_| refine.with_value(|r| r(Box::new(|f| f.tags = None)))>
                        "#"{tags}" ×"
                    </button>
                })}
                <label>
                    <span class="muted small">"Sort by "</span>
                    <select name="sort" aria-label="Sort by" on:change=move |ev| {
                        let sort = Some(event_target_value(&ev)).filter(|s| !s.is_empty());
                        refine.with_value(|r| r(Box::new(move |f| f.sort = sort)));
                    }>
                        {AgentSort::ALL.into_iter().map(|sort| {
                            let value = sort.as_str();
                            let selected = move || {
                                filters.with(|f| f.sort.as_deref() == Some(value))
                                    || (sort == AgentSort::Relevance && filters.with(|f| f.sort.is_none()))
                            };
                            view! { <option value=value selected=selected>{sort.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
        </section>

        <section class="results" aria-live="polite">
            {move || match phase.get() {
                Phase::Loading if items.with(Vec::is_empty) => view! { <CardSkeletons count=6 /> }.into_any(),
                Phase::Failed { error, cursor } if items.with(Vec::is_empty) => {
                    view! { <ErrorPanel error retry=Callback::new(move |()| load(cursor.clone())) /> }
                        .into_any()
                }
                _ if items.with(Vec::is_empty) => view! {
                    <EmptyPanel title="No agents match">
                        {move || suggestion.get().map(|text| {
                            let href = marketplace_href(&text, &filters.get_untracked());
                            view! {
                                <p data-testid="did-you-mean">
                                    "Did you mean " <A href=href><strong>{text}</strong></A> "?"
                                </p>
                            }
                        })}
                        <p>"Try fewer words or another category."</p>
                        <A href="/" attr:class="button">"Clear the search"</A>
                    </EmptyPanel>
                }
                .into_any(),
                _ => view! {
                    <div class="grid" data-testid="agent-grid" on:keydown=on_grid_key
                        aria-busy=move || (phase.get() == Phase::Loading).to_string()>
                        <For
                            each=move || items.get()
                            key=|agent| agent.id
                            children=move |agent| view! { <AgentCard agent matched=matched.into() /> }
                        />
                    </div>
                }
                .into_any(),
            }}
            {move || match phase.get() {
                Phase::Failed { error, cursor } if !items.with(Vec::is_empty) => view! {
                    <ErrorPanel error retry=Callback::new(move |()| load(cursor.clone())) />
                }
                .into_any(),
                Phase::Ready if next_cursor.with(Option::is_some) => view! {
                    <div class="more">
                        <button class="button" on:click=move |_| load(next_cursor.get_untracked())>
                            "Show more agents"
                        </button>
                    </div>
                }
                .into_any(),
                Phase::LoadingMore => view! { <div class="more muted">"Loading more…"</div> }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_keep_the_query_encoded() {
        let none = Filters::default();
        assert_eq!(marketplace_href("", &none), "/");
        let marketing = Filters {
            category: Some("marketing".into()),
            free: true,
            sort: Some("rating".into()),
            ..Filters::default()
        };
        assert_eq!(
            marketplace_href(" seo audit ", &marketing),
            "/?q=seo+audit&category=marketing&free=true&sort=rating"
        );
        assert_eq!(marketplace_href("a&b=c", &none), "/?q=a%26b%3Dc");
    }
}
