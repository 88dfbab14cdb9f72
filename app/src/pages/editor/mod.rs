//! Authoring in the browser. `/editor` lists the agents one can edit and
//! starts new ones (from a template); `/editor/:slug` is the editor: the
//! code pane (CodeMirror, loaded on this route only), the manifest and
//! listing panel, the README with a preview, draft autosave, test runs in
//! the real sandbox, and publishing versions.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::authoring::{get_draft, list_templates, own_agents, save_draft};
use crate::auth::{RequireAuth, SignedInPage, use_auth};
use crate::code_editor::CodeEditor;
use crate::components::form::{FieldError, FormError};
use crate::components::new_agent::create_and_edit;
use crate::remote::Remote;
use types::account::Role;
use types::error::{ApiError, code};
use types::market::{CreateAgent, Draft, DraftChanges, OwnAgent};

mod listing;
mod publish;
mod test_run;

use listing::{ManifestPanel, ReadmeEditor};
use publish::{PublishPanel, VisibilityPanel};
use test_run::TestRunPanel;

/// Quiet time after the last edit before the draft saves itself.
const AUTOSAVE_AFTER: Duration = Duration::from_millis(1200);

#[component]
pub fn EditorPage() -> impl IntoView {
    view! { <SignedInPage class="editor-home" title="Editor"><NewAgentForm /><OwnAgents /></SignedInPage> }
}

#[component]
fn OwnAgents() -> impl IntoView {
    let own = Remote::new(own_agents);
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
    let templates = Remote::new(list_templates);
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

#[component]
pub fn AgentEditorPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let draft = Remote::new(move || get_draft(slug.get()));
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
    let slug = draft.agent.slug.clone();
    let work = RwSignal::new(changes_of(&draft));
    let initial_source = draft.source.clone();
    let diagnostics = RwSignal::new(draft.diagnostics.clone());
    let state = RwSignal::new(SaveState::Saved);
    let versions = RwSignal::new(draft.versions.clone());
    let visibility = RwSignal::new(draft.visibility);
    let published = RwSignal::new(draft.published);
    let paid_tries = (draft.source_public, draft.free_tries);
    let edits = StoredValue::new(0_u64);

    let save = {
        let slug = slug.clone();
        move || {
            if state.get_untracked() == SaveState::Saving {
                return;
            }
            let body = work.get_untracked();
            let saved_edits = edits.get_value();
            state.set(SaveState::Saving);
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                match save_draft(slug, body).await {
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
                <VisibilityPanel slug visibility published paid_tries />
            </aside>
        </div>
    }
}

type Edit = Callback<Box<dyn FnOnce(&mut DraftChanges)>>;

#[cfg(test)]
mod tests {
    use super::listing::split_list;
    use super::publish::next_version;

    #[test]
    fn suggests_the_next_patch() {
        assert_eq!(next_version(None), "1.0.0");
        assert_eq!(next_version(Some("1.2.3")), "1.2.4");
        assert_eq!(next_version(Some("junk")), "1.0.0");
        assert_eq!(split_list("a, b\n c,,"), ["a", "b", "c"]);
    }
}
