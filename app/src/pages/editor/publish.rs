//! Publishing a version from the saved draft, and the agent's visibility.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::authoring::{change_agent_settings, publish_version};
use crate::components::form::{FieldError, FormError};
use types::VersionSummary;
use types::error::{ApiError, code};
use types::market::{AgentSettings, DraftChanges, PublishRequest, Visibility};

use super::SaveState;

/// The next version after `latest`, as the publish form suggests it.
pub(super) fn next_version(latest: Option<&str>) -> String {
    let Some(latest) = latest else {
        return "1.0.0".to_owned();
    };
    let parts: Vec<u64> = latest.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [major, minor, patch] => format!("{major}.{minor}.{}", patch + 1),
        _ => "1.0.0".to_owned(),
    }
}

#[component]
pub(super) fn PublishPanel(
    slug: String,
    work: RwSignal<DraftChanges>,
    versions: RwSignal<Vec<VersionSummary>>,
    state: RwSignal<SaveState>,
    save: StoredValue<impl Fn() + Send + Sync + 'static>,
    published: RwSignal<bool>,
) -> impl IntoView {
    let version = RwSignal::new(next_version(
        versions
            .with_untracked(|v| v.first().map(|v| v.version.clone()))
            .as_deref(),
    ));
    let changelog = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<String>);
    let agent = slug.clone();
    let send = move || {
        let request = PublishRequest {
            version: version.get_untracked(),
            changelog: changelog.get_untracked(),
            revision: Some(work.with_untracked(|w| w.revision)),
        };
        let slug = agent.clone();
        leptos::task::spawn_local(async move {
            match publish_version(slug, request).await {
                Ok(summary) => {
                    error.set(None);
                    done.set(Some(format!("Published {}", summary.version)));
                    version.set(next_version(Some(&summary.version)));
                    changelog.set(String::new());
                    versions.update(|v| v.insert(0, summary));
                    published.set(true);
                }
                Err(e) => {
                    done.set(None);
                    error.set(Some(e));
                }
            }
        });
    };
    let send = StoredValue::new(send);
    // Publishing what is on screen: unsaved edits are saved first, then
    // the publish goes out with the new revision.
    let waiting = RwSignal::new(false);
    Effect::new(move |_| {
        if !waiting.get() {
            return;
        }
        match state.get() {
            SaveState::Saved => {
                waiting.set(false);
                send.with_value(|send| send());
            }
            SaveState::Conflict(message) => {
                waiting.set(false);
                error.set(Some(ApiError::new(code::CONFLICT, message)));
            }
            SaveState::Failed(failure) => {
                waiting.set(false);
                error.set(Some(failure));
            }
            SaveState::Saving | SaveState::Unsaved => {}
        }
    });
    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        done.set(None);
        if state.get_untracked() == SaveState::Saved {
            send.with_value(|send| send());
        } else {
            waiting.set(true);
            save.with_value(|s| s());
        }
    };
    view! {
        <form class="panel publish" on:submit=publish data-testid="publish">
            <h2>"Publish"</h2>
            <label class="field">
                <span>"Version"</span>
                <input type="text" name="version" prop:value=move || version.get()
                    on:input=move |ev| version.set(event_target_value(&ev)) />
                <FieldError error field="version" />
            </label>
            <label class="field">
                <span>"Changelog"</span>
                <textarea rows="2" name="changelog" prop:value=move || changelog.get()
                    on:input=move |ev| changelog.set(event_target_value(&ev))></textarea>
            </label>
            <button class="button primary" type="submit">"Publish version"</button>
            <FormError error fields=&["version"] />
            {move || done.get().map(|message| view! { <p class="muted" role="status" data-testid="published">{message}</p> })}
            <ul class="versions">
                {move || versions.get().into_iter().map(|v| view! {
                    <li>
                        <A href=format!("/agents/{slug}/versions/{}", v.version)><strong>{v.version.clone()}</strong></A>
                        <span class="muted small">" · "{crate::pages::time::date(v.created_at)}</span>
                    </li>
                }).collect_view()}
            </ul>
        </form>
    }
}

#[component]
pub(super) fn VisibilityPanel(
    slug: String,
    visibility: RwSignal<Visibility>,
    published: RwSignal<bool>,
    /// Whether a paid agent's source is public, and its free tries per user.
    paid_tries: (bool, u32),
) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let (source_public, free_tries) = paid_tries;
    let change = move |settings: AgentSettings| {
        let slug = slug.clone();
        leptos::task::spawn_local(async move {
            match change_agent_settings(slug, settings.clone()).await {
                Ok(_) => {
                    error.set(None);
                    if let Some(v) = settings.visibility {
                        visibility.set(v);
                    }
                    if let Some(p) = settings.published {
                        published.set(p);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let change = StoredValue::new(change);
    view! {
        <section class="panel visibility">
            <h2>"Who sees it"</h2>
            <select aria-label="Visibility" on:change=move |ev| {
                if let Some(v) = Visibility::parse(&event_target_value(&ev)) {
                    change.with_value(|c| c(AgentSettings { visibility: Some(v), ..AgentSettings::default() }));
                }
            }>
                {Visibility::ALL.into_iter().map(|v| view! {
                    <option value=v.as_str() selected=move || visibility.get() == v>{v.as_str()}</option>
                }).collect_view()}
            </select>
            {move || if published.get() {
                view! {
                    <button class="button small" on:click=move |_| change.with_value(|c| c(AgentSettings { published: Some(false), ..AgentSettings::default() }))>
                        "Unpublish"
                    </button>
                }.into_any()
            } else {
                view! { <p class="muted small">"Not on the marketplace: publish a version to list it."</p> }.into_any()
            }}
            <label class="check">
                <input type="checkbox" data-testid="source-public" prop:checked=source_public
                    on:change=move |ev| {
                        let public = event_target_checked(&ev);
                        change.with_value(|c| c(AgentSettings { source_public: Some(public), ..AgentSettings::default() }));
                    } />
                "Show the source to everyone, and let them fork it (a free agent's always is)"
            </label>
            <label class="field">
                <span>"Free tries per user (paid agents)"</span>
                <input type="number" min="0" max="100" data-testid="free-tries" prop:value=free_tries.to_string()
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() {
                            change.with_value(|c| c(AgentSettings { free_tries: Some(n), ..AgentSettings::default() }));
                        }
                    } />
            </label>
            <FormError error fields=&["free_tries"] />
        </section>
    }
}
