//! Authoring in the browser. `/editor` lists the agents one can edit and
//! starts new ones (from a template); `/editor/:slug` is the editor: the
//! code pane (CodeMirror, loaded on this route only), the manifest and
//! listing panel, the README with a preview, draft autosave, test runs in
//! the real sandbox, and publishing versions.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::auth::{RequireAuth, use_auth};
use crate::client::call;
use crate::code_editor::CodeEditor;
use crate::components::form::{FieldError, FormError};
use crate::pages::agent::RunResult;
use crate::remote::Remote;
use types::account::Role;
use types::error::{ApiError, code};
use types::market::{
    AgentRef, AgentSettings, CreateAgent, Diagnostic, Draft, DraftChanges, DraftSaved, OwnAgent,
    PublishRequest, RunReport, Template, TestRunRequest, Visibility,
};
use types::{Category, VersionSummary};

/// Quiet time after the last edit before the draft saves itself.
const AUTOSAVE_AFTER: Duration = Duration::from_millis(1200);

#[component]
pub fn EditorPage() -> impl IntoView {
    view! {
        <RequireAuth>
            <div class="page editor-home">
                <h1>"Editor"</h1>
                <NewAgentForm />
                <OwnAgents />
            </div>
        </RequireAuth>
    }
}

#[component]
fn OwnAgents() -> impl IntoView {
    let own = Remote::new(|| call::<Vec<OwnAgent>>("GET", "/api/v1/me/agents", None::<&()>, None));
    view! {
        <section class="panel">
            <h2>"Your agents"</h2>
            {own.view("Loading your agents…", |agents: Vec<OwnAgent>| {
                if agents.is_empty() {
                    return view! { <p class="muted">"None yet: start one above."</p> }.into_any();
                }
                view! {
                    <ul class="own-agents" data-testid="own-agents">
                        {agents.into_iter().map(|own| {
                            let state = match (&own.latest_version, own.published) {
                                (None, _) => "draft".to_owned(),
                                (Some(v), true) => format!("{v} · {}", own.visibility.as_str()),
                                (Some(v), false) => format!("{v} · unpublished"),
                            };
                            view! {
                                <li>
                                    <A href=format!("/editor/{}", own.agent.slug)>
                                        <span aria-hidden="true">{own.icon}</span>" "{own.agent.name}
                                    </A>
                                    <span class="muted small">" · "{own.workspace}" · "{state}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

#[component]
fn NewAgentForm() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let templates =
        Remote::new(|| call::<Vec<Template>>("GET", "/api/v1/templates", None::<&()>, None));
    let name = RwSignal::new(String::new());
    let template = RwSignal::new("blank".to_owned());
    let workspace = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let teams = move || {
        auth.me.with(|me| {
            me.as_ref()
                .map(|me| {
                    me.workspaces
                        .iter()
                        .filter(|w| !w.personal && w.role >= Role::Member)
                        .map(|w| (w.slug.clone(), w.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateAgent {
            name: name.get_untracked(),
            template: Some(template.get_untracked()),
            workspace: Some(workspace.get_untracked()).filter(|w| !w.is_empty()),
            ..CreateAgent::default()
        };
        create_and_edit(request, busy, error, navigate.clone());
    };
    view! {
        <form class="panel new-agent" on:submit=create data-testid="new-agent">
            <h2>"New agent"</h2>
            <label class="field">
                <span>"Name"</span>
                <input type="text" required maxlength="80" name="name" placeholder="Haiku Helper"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <FieldError error field="name" />
                <FieldError error field="slug" />
            </label>
            <label class="field">
                <span>"Start from"</span>
                <select name="template" on:change=move |ev| template.set(event_target_value(&ev))>
                    {move || templates.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|t| {
                        let selected = t.id == template.get_untracked();
                        view! { <option value=t.id.clone() selected=selected title=t.description>{t.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            {move || {
                let teams = teams();
                (!teams.is_empty()).then(|| view! {
                    <label class="field">
                        <span>"Workspace"</span>
                        <select name="workspace" on:change=move |ev| workspace.set(event_target_value(&ev))>
                            <option value="">"Personal"</option>
                            {teams.into_iter().map(|(slug, name)| view! { <option value=slug>{name}</option> }).collect_view()}
                        </select>
                    </label>
                })
            }}
            <button class="button primary" type="submit" disabled=move || busy.get()>"Create agent"</button>
            <FormError error fields=&["name", "slug"] />
        </form>
    }
}

/// Creates an agent and opens it in the editor; a refusal goes to `error`.
pub fn create_and_edit(
    request: CreateAgent,
    busy: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    navigate: impl Fn(&str, NavigateOptions) + 'static,
) {
    let auth = use_auth();
    busy.set(true);
    leptos::task::spawn_local(async move {
        match auth
            .send::<AgentRef>("POST", "/api/v1/agents", Some(&request))
            .await
        {
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

/// Where the draft stands against the server.
#[derive(Clone, Debug, PartialEq)]
enum SaveState {
    Saved,
    Unsaved,
    Saving,
    /// Another tab or person saved first; nothing is overwritten.
    Conflict(String),
    Failed(ApiError),
}

fn changes_of(draft: &Draft) -> DraftChanges {
    DraftChanges {
        revision: draft.revision,
        listing: draft.listing.clone(),
        readme: draft.readme.clone(),
        source: draft.source.clone(),
        manifest: draft.manifest.clone(),
        example_input: draft.example_input.clone(),
    }
}

/// The next version after `latest`, as the publish form suggests it.
fn next_version(latest: Option<&str>) -> String {
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
pub fn AgentEditorPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let draft = Remote::new(move || {
        let path = format!("/api/v1/agents/{}/draft", slug.get());
        async move { call::<Draft>("GET", &path, None::<&()>, None).await }
    });
    view! {
        <RequireAuth>
            <div class="page editor-page">
                <A href="/editor" attr:class="back">"← Your agents"</A>
                {draft.view("Loading the draft…", |draft: Draft| view! { <Workbench draft /> })}
            </div>
        </RequireAuth>
    }
}

#[component]
fn Workbench(draft: Draft) -> impl IntoView {
    let auth = use_auth();
    let slug = draft.agent.slug.clone();
    let work = RwSignal::new(changes_of(&draft));
    let initial_source = draft.source.clone();
    let diagnostics = RwSignal::new(draft.diagnostics.clone());
    let state = RwSignal::new(SaveState::Saved);
    let versions = RwSignal::new(draft.versions.clone());
    let visibility = RwSignal::new(draft.visibility);
    let published = RwSignal::new(draft.published);
    let edits = StoredValue::new(0_u64);
    let draft_path = format!("/api/v1/agents/{slug}/draft");

    let save = {
        let draft_path = draft_path.clone();
        move || {
            if state.get_untracked() == SaveState::Saving {
                return;
            }
            let body = work.get_untracked();
            let saved_edits = edits.get_value();
            state.set(SaveState::Saving);
            let draft_path = draft_path.clone();
            leptos::task::spawn_local(async move {
                match auth
                    .send::<DraftSaved>("PUT", &draft_path, Some(&body))
                    .await
                {
                    Ok(saved) => {
                        work.update(|w| w.revision = saved.revision);
                        diagnostics.set(saved.diagnostics);
                        // Edits made while saving still need a save.
                        let settled = edits.try_get_value() == Some(saved_edits);
                        state.set(if settled {
                            SaveState::Saved
                        } else {
                            SaveState::Unsaved
                        });
                    }
                    Err(error) if error.code == code::CONFLICT => {
                        state.set(SaveState::Conflict(error.message))
                    }
                    Err(error) => state.set(SaveState::Failed(error)),
                }
            });
        }
    };
    let save = StoredValue::new(save);
    // Every edit marks the draft unsaved and saves it after a quiet moment.
    let edited = move |change: Box<dyn FnOnce(&mut DraftChanges)>| {
        work.update(|w| change(w));
        edits.update_value(|n| *n += 1);
        if !matches!(state.get_untracked(), SaveState::Conflict(_)) {
            state.set(SaveState::Unsaved);
        }
        let mine = edits.get_value();
        set_timeout(
            move || {
                if edits.try_get_value() == Some(mine)
                    && state.try_get_untracked() == Some(SaveState::Unsaved)
                {
                    save.with_value(|save| save());
                }
            },
            AUTOSAVE_AFTER,
        );
    };
    let edited = StoredValue::new(edited);
    let edit = move |change: Box<dyn FnOnce(&mut DraftChanges)>| edited.with_value(|e| e(change));

    let status = move || {
        match state.get() {
        SaveState::Saved => view! { <span class="save-state" data-testid="save-state">{move || format!("Saved · revision {}", work.with(|w| w.revision))}</span> }.into_any(),
        SaveState::Unsaved => view! { <span class="save-state" data-testid="save-state">"Unsaved changes"</span> }.into_any(),
        SaveState::Saving => view! { <span class="save-state" data-testid="save-state">"Saving…"</span> }.into_any(),
        SaveState::Conflict(message) => view! { <span class="save-state error" role="alert" data-testid="save-state">{message}</span> }.into_any(),
        SaveState::Failed(error) => view! { <span class="save-state error" role="alert" data-testid="save-state">"Not saved: "{error.message}</span> }.into_any(),
    }
    };
    let diagnostic_note = move || {
        diagnostics.with(|d| {
            d.first().map(|d| {
                view! { <p class="panel panel-error small" role="alert" data-testid="diagnostic">"Line "{d.line}", column "{d.column}": "{d.message.clone()}</p> }
            })
        })
    };

    view! {
        <header class="editor-head">
            <h1>{move || work.with(|w| w.listing.name.clone())}</h1>
            <A href=format!("/agents/{slug}") attr:class="button small">"View page"</A>
            {status}
            <button class="button small" on:click=move |_| save.with_value(|s| s())>"Save"</button>
        </header>
        <div class="editor-layout">
            <section class="editor-main">
                <div data-testid="source-pane">
                <CodeEditor
                    initial=initial_source
                    language="javascript"
                    label="Agent source code"
                    on_change=Callback::new(move |text: String| edit(Box::new(move |w| w.source = text)))
                    on_save=Callback::new(move |text: String| {
                        edit(Box::new(move |w| w.source = text));
                        save.with_value(|s| s());
                    })
                    diagnostics=Signal::derive(move || diagnostics.get())
                />
                </div>
                {diagnostic_note}
                <TestRunPanel slug=slug.clone() work diagnostics edit />
                <ReadmeEditor work edit />
            </section>
            <aside class="editor-side">
                <ManifestPanel work edit state />
                <PublishPanel slug=slug.clone() work versions state save published />
                <VisibilityPanel slug visibility published />
            </aside>
        </div>
    }
}

type Edit = Callback<Box<dyn FnOnce(&mut DraftChanges)>>;

#[component]
fn TestRunPanel(
    slug: String,
    work: RwSignal<DraftChanges>,
    diagnostics: RwSignal<Vec<Diagnostic>>,
    #[prop(into)] edit: Edit,
) -> impl IntoView {
    let auth = use_auth();
    let report = RwSignal::new(None::<RunReport>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let path = format!("/api/v1/agents/{slug}/test-runs");
    let run = move |_| {
        let w = work.get_untracked();
        let request = TestRunRequest {
            source: w.source,
            manifest: w.manifest,
            input: w.example_input,
        };
        let path = path.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match auth.send::<RunReport>("POST", &path, Some(&request)).await {
                Ok(answer) => {
                    if let Some(failure) = &answer.error
                        && let Some(line) = failure.line
                    {
                        diagnostics.set(vec![Diagnostic {
                            line,
                            column: failure.column.unwrap_or(1),
                            message: failure.message.clone(),
                        }]);
                    }
                    report.set(Some(answer));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="panel test-run" data-testid="test-run">
            <h2>"Test run"</h2>
            <div class="field" data-testid="test-input">
                <span>"Input (JSON)"</span>
                <CodeEditor
                    initial=work.with_untracked(|w| w.example_input.clone())
                    language="json"
                    label="Test input (JSON)"
                    on_change=Callback::new(move |text: String| edit.run(Box::new(move |w| w.example_input = text)))
                />
            </div>
            <button class="button primary" data-testid="run" on:click=run disabled=move || busy.get()>
                {move || if busy.get() { "Running…" } else { "Run in the sandbox" }}
            </button>
            <FieldError error field="input" />
            <FormError error fields=&["input"] />
            {move || report.get().map(|report| view! { <RunResult report /> })}
        </section>
    }
}

#[component]
fn ReadmeEditor(work: RwSignal<DraftChanges>, #[prop(into)] edit: Edit) -> impl IntoView {
    let auth = use_auth();
    let preview = RwSignal::new(None::<String>);
    let show_preview = move |_| {
        let text = work.with_untracked(|w| w.readme.clone());
        leptos::task::spawn_local(async move {
            #[derive(serde::Deserialize)]
            struct Html {
                html: String,
            }
            let body = serde_json::json!({ "text": text });
            if let Ok(html) = auth
                .send::<Html>("POST", "/api/v1/markdown", Some(&body))
                .await
            {
                preview.set(Some(html.html));
            }
        });
    };
    view! {
        <section class="panel readme-editor">
            <h2>"README"</h2>
            <div class="tabs">
                <button class="button small" on:click=move |_| preview.set(None)>"Write"</button>
                <button class="button small" on:click=show_preview>"Preview"</button>
            </div>
            {move || match preview.get() {
                Some(html) => view! { <div class="markdown" data-testid="readme-preview" inner_html=html></div> }.into_any(),
                None => view! {
                    <textarea rows="12" aria-label="README (Markdown)" name="readme"
                        prop:value=move || work.with(|w| w.readme.clone())
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            edit.run(Box::new(move |w| w.readme = text));
                        }></textarea>
                }.into_any(),
            }}
        </section>
    }
}

fn lines(list: &[String]) -> String {
    list.join("\n")
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[component]
fn ManifestPanel(
    work: RwSignal<DraftChanges>,
    #[prop(into)] edit: Edit,
    state: RwSignal<SaveState>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        error.set(match state.get() {
            SaveState::Failed(e) => Some(e),
            _ => None,
        });
    });
    let text_field = move |label: &'static str,
                           field: &'static str,
                           get: fn(&DraftChanges) -> String,
                           set: fn(&mut DraftChanges, String)| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" name=field prop:value=move || work.with(get)
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        edit.run(Box::new(move |w| set(w, text)));
                    } />
                <FieldError error field />
            </label>
        }
    };
    let check = move |label: &'static str,
                      get: fn(&DraftChanges) -> bool,
                      set: fn(&mut DraftChanges, bool)| {
        view! {
            <label class="check">
                <input type="checkbox" prop:checked=move || work.with(get)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit.run(Box::new(move |w| set(w, on)));
                    } />
                {label}
            </label>
        }
    };
    let area = move |label: &'static str,
                     field: &'static str,
                     get: fn(&DraftChanges) -> String,
                     set: fn(&mut DraftChanges, String)| {
        view! {
            <label class="field">
                <span>{label}</span>
                <textarea rows="2" name=field prop:value=move || work.with(get)
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        edit.run(Box::new(move |w| set(w, text)));
                    }></textarea>
                <FieldError error field />
            </label>
        }
    };
    view! {
        <section class="panel manifest" data-testid="manifest">
            <h2>"Listing"</h2>
            {text_field("Name", "name", |w| w.listing.name.clone(), |w, v| w.listing.name = v)}
            {text_field("Summary", "summary", |w| w.listing.summary.clone(), |w, v| w.listing.summary = v)}
            {text_field("Icon", "icon", |w| w.listing.icon.clone(), |w, v| w.listing.icon = v)}
            <label class="field">
                <span>"Category"</span>
                <select name="category" on:change=move |ev| {
                    if let Some(category) = Category::from_slug(&event_target_value(&ev)) {
                        edit.run(Box::new(move |w| w.listing.category = category));
                    }
                }>
                    {Category::ALL.into_iter().map(|c| view! {
                        <option value=c.slug() selected=move || work.with(|w| w.listing.category == c)>{c.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            {area("Tags (comma-separated)", "tags", |w| w.listing.tags.join(", "), |w, v| w.listing.tags = split_list(&v))}
            <label class="field">
                <span>"Price per run (credits)"</span>
                <input type="number" min="0" step="1" name="price_credits"
                    prop:value=move || work.with(|w| w.listing.price_credits.to_string())
                    on:change=move |ev| {
                        let price = event_target_value(&ev).trim().parse().unwrap_or(-1);
                        edit.run(Box::new(move |w| w.listing.price_credits = price));
                    } />
                <FieldError error field="price_credits" />
            </label>
            <h2>"Capabilities"</h2>
            {check("Language model (llm)", |w| w.manifest.capabilities.llm, |w, on| w.manifest.capabilities.llm = on)}
            {check("Key-value storage (kv)", |w| w.manifest.capabilities.kv, |w, on| w.manifest.capabilities.kv = on)}
            {area("Hosts it may fetch (one per line)", "manifest.capabilities.http", |w| lines(&w.manifest.capabilities.http), |w, v| w.manifest.capabilities.http = split_list(&v))}
            {area("Config keys", "manifest.capabilities.config", |w| w.manifest.capabilities.config.join(", "), |w, v| w.manifest.capabilities.config = split_list(&v))}
            {area("Secret keys", "manifest.capabilities.secrets", |w| w.manifest.capabilities.secrets.join(", "), |w, v| w.manifest.capabilities.secrets = split_list(&v))}
            <h2>"Limits"</h2>
            <label class="field">
                <span>"Time per run (ms)"</span>
                <input type="number" min="1" name="timeout_ms"
                    prop:value=move || work.with(|w| w.manifest.limits.timeout_ms.to_string())
                    on:change=move |ev| {
                        let ms = event_target_value(&ev).trim().parse().unwrap_or(0);
                        edit.run(Box::new(move |w| w.manifest.limits.timeout_ms = ms));
                    } />
                <FieldError error field="manifest.limits.timeout_ms" />
            </label>
            <label class="field">
                <span>"Memory (MiB)"</span>
                <input type="number" min="1" name="memory_mib"
                    prop:value=move || work.with(|w| (w.manifest.limits.memory_bytes >> 20).to_string())
                    on:change=move |ev| {
                        let mib: u64 = event_target_value(&ev).trim().parse().unwrap_or(0);
                        edit.run(Box::new(move |w| w.manifest.limits.memory_bytes = mib << 20));
                    } />
                <FieldError error field="manifest.limits.memory_bytes" />
            </label>
        </section>
    }
}

#[component]
fn PublishPanel(
    slug: String,
    work: RwSignal<DraftChanges>,
    versions: RwSignal<Vec<VersionSummary>>,
    state: RwSignal<SaveState>,
    save: StoredValue<impl Fn() + Send + Sync + 'static>,
    published: RwSignal<bool>,
) -> impl IntoView {
    let auth = use_auth();
    let version = RwSignal::new(next_version(
        versions
            .with_untracked(|v| v.first().map(|v| v.version.clone()))
            .as_deref(),
    ));
    let changelog = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<String>);
    let path = format!("/api/v1/agents/{slug}/versions");
    let send = move || {
        let request = PublishRequest {
            version: version.get_untracked(),
            changelog: changelog.get_untracked(),
            revision: Some(work.with_untracked(|w| w.revision)),
        };
        let path = path.clone();
        leptos::task::spawn_local(async move {
            match auth
                .send::<VersionSummary>("POST", &path, Some(&request))
                .await
            {
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
                        <span class="muted small">" · "{super::time::date(v.created_at)}</span>
                    </li>
                }).collect_view()}
            </ul>
        </form>
    }
}

#[component]
fn VisibilityPanel(
    slug: String,
    visibility: RwSignal<Visibility>,
    published: RwSignal<bool>,
) -> impl IntoView {
    let auth = use_auth();
    let error = RwSignal::new(None::<ApiError>);
    let path = format!("/api/v1/agents/{slug}");
    let change = move |settings: AgentSettings| {
        let path = path.clone();
        leptos::task::spawn_local(async move {
            match auth
                .send::<serde::de::IgnoredAny>("PATCH", &path, Some(&settings))
                .await
            {
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
                    change.with_value(|c| c(AgentSettings { visibility: Some(v), published: None }));
                }
            }>
                {Visibility::ALL.into_iter().map(|v| view! {
                    <option value=v.as_str() selected=move || visibility.get() == v>{v.as_str()}</option>
                }).collect_view()}
            </select>
            {move || if published.get() {
                view! {
                    <button class="button small" on:click=move |_| change.with_value(|c| c(AgentSettings { visibility: None, published: Some(false) }))>
                        "Unpublish"
                    </button>
                }.into_any()
            } else {
                view! { <p class="muted small">"Not on the marketplace: publish a version to list it."</p> }.into_any()
            }}
            <FormError error fields=&[] />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_next_patch() {
        assert_eq!(next_version(None), "1.0.0");
        assert_eq!(next_version(Some("1.2.3")), "1.2.4");
        assert_eq!(next_version(Some("junk")), "1.0.0");
        assert_eq!(split_list("a, b\n c,,"), ["a", "b", "c"]);
    }
}
