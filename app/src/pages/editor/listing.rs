//! The editor's listing panels: the README with a preview, and the manifest
//! (capabilities, limits) with the listing fields.

use leptos::prelude::*;

use crate::api::authoring::render_markdown;
use crate::components::form::FieldError;
use types::Category;
use types::error::ApiError;
use types::market::DraftChanges;

use super::Edit;
use super::SaveState;

#[component]
pub(super) fn ReadmeEditor(
    work: RwSignal<DraftChanges>,
    #[prop(into)] edit: Edit,
) -> impl IntoView {
    let preview = RwSignal::new(None::<String>);
    let show_preview = move |_| {
        let text = work.with_untracked(|w| w.readme.clone());
        leptos::task::spawn_local(async move {
            if let Ok(html) = render_markdown(text).await {
                preview.set(Some(html));
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

pub(super) fn lines(list: &[String]) -> String {
    list.join("\n")
}

pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[component]
pub(super) fn ManifestPanel(
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
    // A text field of the draft: one line (`rows` 1, saved as typed), or
    // several (saved when left).
    let text_field = move |label: &'static str,
                           field: &'static str,
                           rows: u32,
                           get: fn(&DraftChanges) -> String,
                           set: fn(&mut DraftChanges, String)| {
        let changed = move |ev: leptos::ev::Event| {
            let text = event_target_value(&ev);
            edit.run(Box::new(move |w| set(w, text)));
        };
        let control = if rows == 1 {
            view! { <input type="text" name=field prop:value=move || work.with(get) on:input=changed /> }.into_any()
        } else {
            view! { <textarea rows=rows name=field prop:value=move || work.with(get) on:change=changed></textarea> }
                .into_any()
        };
        view! { <label class="field"><span>{label}</span>{control}<FieldError error field /></label> }
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
    view! {
        <section class="panel manifest" data-testid="manifest">
            <h2>"Listing"</h2>
            {text_field("Name", "name", 1, |w| w.listing.name.clone(), |w, v| w.listing.name = v)}
            {text_field("Summary", "summary", 1, |w| w.listing.summary.clone(), |w, v| w.listing.summary = v)}
            {text_field("Icon", "icon", 1, |w| w.listing.icon.clone(), |w, v| w.listing.icon = v)}
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
            {text_field("Tags (comma-separated)", "tags", 2, |w| w.listing.tags.join(", "), |w, v| w.listing.tags = split_list(&v))}
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
            {text_field("Hosts it may fetch (one per line)", "manifest.capabilities.http", 2, |w| lines(&w.manifest.capabilities.http), |w, v| w.manifest.capabilities.http = split_list(&v))}
            {text_field("Config keys", "manifest.capabilities.config", 2, |w| w.manifest.capabilities.config.join(", "), |w, v| w.manifest.capabilities.config = split_list(&v))}
            {text_field("Secret keys", "manifest.capabilities.secrets", 2, |w| w.manifest.capabilities.secrets.join(", "), |w, v| w.manifest.capabilities.secrets = split_list(&v))}
            <h2>"Input and output"</h2>
            <p class="muted small">"JSON Schema (a subset of draft 2020-12: types, properties, required, enum, lengths, ranges, patterns, items, anyOf/oneOf/allOf). The input schema makes the form on the agent page, and every run's input is checked against it. Empty: any JSON."</p>
            <SchemaText label="Input schema" field="manifest.input_schema" work edit error
                get=|w| w.manifest.input_schema.clone() set=|w, schema| w.manifest.input_schema = schema />
            <SchemaText label="Output schema" field="manifest.output_schema" work edit error
                get=|w| w.manifest.output_schema.clone() set=|w, schema| w.manifest.output_schema = schema />
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

/// A schema of the manifest as JSON text: written into the draft only
/// while it is empty (no schema) or a schema of the subset, so a half-typed
/// one never stops the draft from saving; what is wrong with it is shown
/// as it is typed.
#[component]
fn SchemaText(
    label: &'static str,
    field: &'static str,
    work: RwSignal<DraftChanges>,
    #[prop(into)] edit: Edit,
    error: RwSignal<Option<ApiError>>,
    get: fn(&DraftChanges) -> Option<serde_json::Value>,
    set: fn(&mut DraftChanges, Option<serde_json::Value>),
) -> impl IntoView {
    let text = RwSignal::new(work.with_untracked(|w| {
        get(w)
            .map(|schema| serde_json::to_string_pretty(&schema).unwrap_or_default())
            .unwrap_or_default()
    }));
    let problem = RwSignal::new(None::<String>);
    let changed = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        text.set(typed.clone());
        let schema = if typed.trim().is_empty() {
            Ok(None)
        } else {
            serde_json::from_str::<serde_json::Value>(&typed)
                .map_err(|e| format!("Not JSON: {e}"))
                .and_then(|value| {
                    types::json_schema::Schema::compile(&value)
                        .map(|_| Some(value))
                        .map_err(|e| e.to_string())
                })
        };
        match schema {
            Ok(schema) => {
                problem.set(None);
                edit.run(Box::new(move |w| set(w, schema)));
            }
            Err(message) => problem.set(Some(format!(
                "{message} (not saved: the draft keeps the last schema that was valid)"
            ))),
        }
    };
    view! {
        <label class="field">
            <span>{label}</span>
            <textarea rows="6" spellcheck="false" name=field prop:value=move || text.get() on:input=changed></textarea>
            {move || problem.get().map(|message| view! { <p class="field-error" role="alert" data-testid="schema-problem">{message}</p> })}
            <FieldError error field />
        </label>
    }
}
