//! The agent page: what an agent does (its README, sanitised on the
//! server), what it may do (capabilities in plain words), what it costs,
//! its versions, runs and reviews, and the buttons to deploy, try or fork it.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::agents::{get_agent, list_reviews, reply_to_review, try_agent, write_review};
use crate::api::authoring::{change_agent_settings, delete_agent};
use crate::api::deployments::create_deployment;
use crate::auth::use_auth;
use crate::components::agent_card::{price_label, rating_label, runs_label, success_rate};
use crate::components::deploy::DeployProgress;
use crate::components::form::FormError;
use crate::components::new_agent::create_and_edit;
use crate::components::run_result::RunResult;
use crate::components::schema_form::InputForm;
use crate::components::status::ErrorPanel;
use crate::remote::Remote;
use types::AgentDetail;
use types::deploy::{CreateDeployment, Deployment};
use types::error::ApiError;
use types::market::{CreateAgent, ReplyInput, Review, ReviewInput, ReviewPage, RunReport};

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
                        Some(Ok(detail)) => view! {
                            <AgentDetailView detail reload=Callback::new(move |()| agent.reload()) />
                        }.into_any(),
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

/// Deployments that ran the agent in the last seven days.
fn deployments_label(active: i64) -> String {
    match active {
        0 => "No deployment ran it".to_owned(),
        1 => "1 active deployment".to_owned(),
        n => format!("{n} active deployments"),
    }
}

/// Run count and the share that succeeded, in whole percent.
fn success_label(runs: i64, succeeded: i64) -> String {
    match success_rate(runs, succeeded) {
        None => "No runs yet".to_owned(),
        Some(rate) => format!("{} · {rate}", runs_label(runs)),
    }
}

#[component]
fn AgentDetailView(detail: AgentDetail, reload: Callback<()>) -> impl IntoView {
    let summary = detail.agent.clone();
    let slug = summary.slug.clone();
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
    let creator_href = format!("/creators/{}", summary.author.handle);
    let capabilities = detail.latest.as_ref().map(|latest| {
        let caps = latest.manifest.capabilities.describe();
        let limits = latest.manifest.limits.describe();
        view! {
            <section class="panel capabilities" data-testid="capabilities">
                <h2>"What this agent may do"</h2>
                <ul>
                    {caps.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                </ul>
                <p class="muted small">{limits}</p>
            </section>
        }
    });
    let versions = detail.versions.clone();
    let input_schema = detail
        .latest
        .as_ref()
        .and_then(|latest| latest.manifest.input_schema.clone());
    let latest_example = detail
        .latest
        .as_ref()
        .map(|latest| latest.example_input.clone());
    let editor_href = format!("/editor/{slug}");
    view! {
        <article>
            <header class="agent-header">
                <span class="agent-icon large" aria-hidden="true">{summary.icon.clone()}</span>
                <div>
                    <h1 data-testid="agent-name">{summary.name.clone()}</h1>
                    <p class="lede">{summary.summary.clone()}</p>
                    <p class="muted">
                        "by " <A href=creator_href attr:data-testid="author-link"><strong>{summary.author.display_name.clone()}</strong></A>
                        " · @" {summary.author.handle.clone()}
                        {detail.forked_from.clone().map(|parent| view! {
                            " · forked from " <A href=format!("/agents/{}", parent.slug)>{parent.name}</A>
                        })}
                    </p>
                </div>
            </header>
            {detail.archived.then(|| view! {
                <p class="panel notice" role="status" data-testid="archived-notice">
                    <strong>"Archived. "</strong>
                    "Its author no longer offers this agent: no new deployments or tries. Deployments of it keep running."
                </p>
            })}
            <div class="actions">
                {(!detail.archived).then(|| view! {
                    <DeployButton slug=slug.clone() signed_in=detail.viewer.signed_in published=detail.latest.is_some() price=summary.price_credits />
                })}
                {(detail.viewer.can_read_source || !detail.viewer.signed_in).then(|| view! {
                    <ForkButton slug=slug.clone() name=summary.name.clone() signed_in=detail.viewer.signed_in />
                })}
                {detail.viewer.can_edit.then(|| view! {
                    <A href=editor_href attr:class="button">"Edit"</A>
                    <ArchiveControls slug=slug.clone() archived=detail.archived reload />
                })}
            </div>
            <div class="agent-layout">
                <section class="agent-readme">
                    <div class="markdown" data-testid="readme" inner_html=detail.readme_html.clone()></div>
                    <div class="tags">
                        {summary.tags.clone().into_iter().map(|t| view! {
                            <A href=format!("/?tags={}", crate::pages::encode_component(&t)) attr:class="tag">"#" {t.clone()}</A>
                        }).collect_view()}
                    </div>
                    {latest_example.filter(|_| !detail.archived).map(|example| view! {
                        <TryIt slug=slug.clone() example schema=input_schema.clone() signed_in=detail.viewer.signed_in
                            price=if detail.viewer.can_edit { 0 } else { summary.price_credits }
                            free_left=detail.viewer.free_tries_left />
                    })}
                    <Reviews slug=slug.clone() detail=detail.clone() reload />
                </section>
                <aside class="agent-facts">
                    <dl>
                        <dt>"Price"</dt>
                        <dd class="price" data-testid="price">{price_label(summary.price_credits)}</dd>
                        <dt>"Category"</dt>
                        <dd>{summary.category.label()}</dd>
                        <dt>"Usage"</dt>
                        <dd data-testid="usage">{success_label(summary.runs_count, summary.runs_succeeded)}</dd>
                        {detail.usage.clone().map(|week| view! {
                            <dt>"This week"</dt>
                            <dd data-testid="week">
                                {deployments_label(week.weekly_active_deployments)}
                                <br />
                                <span class="muted small">{success_label(week.runs_this_week, week.succeeded_this_week)}</span>
                            </dd>
                        })}
                        <dt>"Rating"</dt>
                        <dd data-testid="rating">{rating}</dd>
                        <dt>"Updated"</dt>
                        <dd>{super::time::long_date(detail.updated_at)}</dd>
                    </dl>
                    {capabilities}
                    <h3>"Versions"</h3>
                    {if versions.is_empty() {
                        view! { <p class="muted small" data-testid="no-versions">"No version published yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="versions">
                                {versions.into_iter().map(|v| {
                                    let href = format!("/agents/{slug}/versions/{}", v.version);
                                    view! {
                                        <li>
                                            <A href=href><strong>{v.version}</strong></A>
                                            <span class="muted small">" · "{super::time::date(v.created_at)}</span>
                                            <p class="small">{v.changelog}</p>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </aside>
            </div>
        </article>
    }
}

/// Deploys the newest version to the active workspace and shows it coming
/// up live, step by step, with the way to its page.
#[component]
fn DeployButton(slug: String, signed_in: bool, published: bool, price: i64) -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<Deployment>);
    let deploy = move |_| {
        if !signed_in {
            navigate(
                &format!(
                    "/signin?return_to={}",
                    crate::pages::encode_component(&crate::routes::agent(&slug))
                ),
                NavigateOptions::default(),
            );
            return;
        }
        let workspace = auth
            .active_workspace()
            .filter(|w| !w.personal)
            .map(|w| w.slug);
        let request = CreateDeployment {
            agent: slug.clone(),
            workspace,
            ..CreateDeployment::default()
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match create_deployment(request).await {
                Ok(deployment) => created.set(Some(deployment)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <button
            class="button primary"
            data-testid="deploy"
            on:click=deploy
            disabled=move || busy.get() || !published
            title=move || (!published).then_some("No version is published yet")
        >
            {move || if busy.get() { "Deploying…" } else { "Deploy" }}
        </button>
        <span class="muted small" data-testid="deploy-price">{run_price(price)}</span>
        <FormError error fields=&[] />
        {move || created.get().map(|deployment| view! { <DeployProgress deployment /> })}
    }
}

/// What a deployed run of the agent costs.
fn run_price(price: i64) -> String {
    if price == 0 {
        "Free to run.".to_owned()
    } else {
        format!(
            "{} a run, charged only when it succeeds (free in the agent's own workspace).",
            credits(price)
        )
    }
}

fn credits(n: i64) -> String {
    if n == 1 {
        "1 credit".to_owned()
    } else {
        format!("{n} credits")
    }
}

/// For the agent's editors: archive it (or bring it back), or delete it.
#[component]
fn ArchiveControls(slug: String, archived: bool, reload: Callback<()>) -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let archive_slug = slug.clone();
    let toggle = move |_| {
        let question = if archived {
            "Bring this agent back to the marketplace and to new deployments?"
        } else {
            "Archive this agent? It leaves the marketplace and no new deployments or tries \
             can start; deployments of it keep running."
        };
        if !crate::components::browser::confirm(question) {
            return;
        }
        let slug = archive_slug.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let settings = types::market::AgentSettings {
                archived: Some(!archived),
                ..types::market::AgentSettings::default()
            };
            let done = change_agent_settings(slug, settings).await;
            busy.set(false);
            match done {
                Ok(_) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |_| {
        if !crate::components::browser::confirm(
            "Delete this agent for good? Its page and unused versions go; this cannot be undone.",
        ) {
            return;
        }
        let slug = slug.clone();
        let navigate = navigate.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let done = delete_agent(slug).await;
            busy.set(false);
            match done {
                Ok(()) => navigate("/dashboard", NavigateOptions::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <button class="button" data-testid="archive" on:click=toggle disabled=move || busy.get()>
            {if archived { "Unarchive" } else { "Archive" }}
        </button>
        <button class="button danger" data-testid="delete-agent" on:click=delete disabled=move || busy.get()>
            "Delete"
        </button>
        <FormError error fields=&[] />
    }
}

#[component]
fn ForkButton(slug: String, name: String, signed_in: bool) -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let fork = move |_| {
        if !signed_in {
            navigate("/signin", NavigateOptions::default());
            return;
        }
        let request = CreateAgent {
            name: format!("{name} (fork)"),
            fork_of: Some(slug.clone()),
            ..CreateAgent::default()
        };
        create_and_edit(request, busy, error, navigate.clone());
    };
    view! {
        <button class="button" data-testid="fork" on:click=fork disabled=move || busy.get()>
            "Fork"
        </button>
        <FormError error fields=&[] />
    }
}

/// Runs the newest version with an input, for signed-in users.
#[component]
fn TryIt(
    slug: String,
    example: String,
    schema: Option<serde_json::Value>,
    signed_in: bool,
    price: i64,
    free_left: u32,
) -> impl IntoView {
    let input = RwSignal::new(example);
    let report = RwSignal::new(None::<RunReport>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let run = move |_| {
        let slug = slug.clone();
        let input = input.get_untracked();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match try_agent(slug, input).await {
                Ok(answer) => report.set(Some(answer)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel try-it" data-testid="try-it">
            <h2>"Try it"</h2>
            <p class="muted small" data-testid="try-price">{if price == 0 {
                "Trying is free.".to_owned()
            } else if free_left > 0 {
                format!("{free_left} free {} left; then a try costs {}, like a deployed run. A failed try costs nothing.",
                    if free_left == 1 { "try" } else { "tries" }, credits(price))
            } else {
                format!("A try costs {}, like a deployed run. A failed try costs nothing.", credits(price))
            }}</p>
            {if signed_in {
                view! {
                    <InputForm schema input label="Input (JSON)" testid="try-input" json_testid="try-json" />
                    <button class="button" on:click=run disabled=move || busy.get()>
                        {move || if busy.get() {
                            "Running…".to_owned()
                        } else if price > 0 && free_left == 0 {
                            format!("Run for {}", credits(price))
                        } else {
                            "Run".to_owned()
                        }}
                    </button>
                    <FormError error fields=&[] />
                    {move || report.get().map(|report| view! { <RunResult report /> })}
                }.into_any()
            } else {
                view! { <p class="muted">"Sign in to try this agent with your own input."</p> }.into_any()
            }}
        </section>
    }
}

fn stars(rating: u8) -> String {
    let full = usize::from(rating.min(5));
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

#[component]
fn Reviews(slug: String, detail: AgentDetail, reload: Callback<()>) -> impl IntoView {
    let list_slug = slug.clone();
    let reviews = Remote::new(move || list_reviews(list_slug.clone(), None, None));
    let can_reply = detail.viewer.can_edit;
    let form = detail.viewer.can_review.then(|| {
        view! {
            <ReviewForm
                slug=slug.clone()
                mine=detail.viewer.my_review.clone()
                saved=Callback::new(move |()| {
                    reviews.reload();
                    reload.run(());
                })
            />
        }
    });
    view! {
        <section class="reviews" data-testid="reviews">
            <h2>"Reviews"</h2>
            {form}
            {(!detail.viewer.signed_in).then(|| view! {
                <p class="muted"><A href="/signin">"Sign in"</A>" to leave a review."</p>
            })}
            {reviews.view("Loading reviews…", move |page: ReviewPage| {
                if page.items.is_empty() {
                    return view! { <p class="muted">"No reviews yet."</p> }.into_any();
                }
                let slug = slug.clone();
                view! {
                    <ul class="review-list">
                        {page.items.into_iter().map(|review| view! {
                            <ReviewItem review slug=slug.clone() can_reply saved=Callback::new(move |()| reviews.reload()) />
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

#[component]
fn ReviewItem(review: Review, slug: String, can_reply: bool, saved: Callback<()>) -> impl IntoView {
    let reply_form = (can_reply && review.reply.is_none()).then(|| {
        let text = RwSignal::new(String::new());
        let error = RwSignal::new(None::<ApiError>);
        let id = review.id;
        let send = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let reply = ReplyInput {
                body: text.get_untracked(),
            };
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                match reply_to_review(slug, id, reply).await {
                    Ok(_) => saved.run(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        };
        view! {
            <form class="reply-form" on:submit=send>
                <input type="text" placeholder="Reply as the author (once)" aria-label="Reply"
                    maxlength="5000" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev)) />
                <button class="button small" type="submit">"Reply"</button>
                <FormError error fields=&[] />
            </form>
        }
    });
    view! {
        <li class="review" data-testid="review">
            <p>
                <span class="stars" aria-label=format!("{} of 5 stars", review.rating)>{stars(review.rating)}</span>
                " " <strong>{review.author.display_name}</strong>
                <span class="muted small">" · "{super::time::date(review.updated_at)}</span>
            </p>
            {(!review.body.is_empty()).then(|| view! { <p>{review.body}</p> })}
            {review.reply.map(|reply| view! {
                <blockquote class="reply"><strong>"Author's reply: "</strong>{reply.body}</blockquote>
            })}
            {reply_form}
        </li>
    }
}

#[component]
fn ReviewForm(slug: String, mine: Option<Review>, saved: Callback<()>) -> impl IntoView {
    let editing = mine.is_some();
    let rating = RwSignal::new(mine.as_ref().map_or(0, |r| r.rating));
    let body = RwSignal::new(mine.map(|r| r.body).unwrap_or_default());
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(false);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = ReviewInput {
            rating: i64::from(rating.get_untracked()),
            body: body.get_untracked(),
        };
        let slug = slug.clone();
        leptos::task::spawn_local(async move {
            match write_review(slug, input).await {
                Ok(_) => {
                    error.set(None);
                    done.set(true);
                    saved.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel review-form" on:submit=send data-testid="review-form">
            <fieldset class="star-picker">
                <legend>{if editing { "Edit your review" } else { "Rate this agent" }}</legend>
                {(1..=5_u8).map(|n| view! {
                    <label>
                        <input type="radio" name="rating" value=n.to_string()
                            prop:checked=move || rating.get() == n
                            on:change=move |_| rating.set(n) />
                        <span>{n}" ★"</span>
                    </label>
                }).collect_view()}
            </fieldset>
            <textarea rows="3" maxlength="5000" placeholder="What worked, what did not?" aria-label="Review"
                prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
            <button class="button primary" type="submit">{if editing { "Update review" } else { "Post review" }}</button>
            <FormError error fields=&[] />
            {move || done.get().then(|| view! { <p class="muted small" role="status">"Thanks, your review is saved."</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(success_label(0, 0), "No runs yet");
        assert_eq!(success_label(200, 150), "200 runs · 75% succeed");
        assert_eq!(stars(4), "★★★★☆");
    }
}
