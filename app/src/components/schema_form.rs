//! An agent's input as a form made from its input schema, with the JSON
//! beside it, checked live by the same code the server checks it with
//! (`types::json_schema`): the agent page's "Try it", the deployment's run
//! form and the editor's example.
//!
//! The form covers an object's properties: text (a date, an address or a
//! link by `format`), a choice of `enum` values, numbers, a switch for
//! true/false; a property of any other shape (a list, an object) is JSON
//! of its own. The JSON text stays the input: every control rewrites it,
//! and "Edit as JSON" shows it whole.

use leptos::prelude::*;
use serde_json::{Map, Value};

use types::json_schema::{Schema, Violation};

/// `text` (JSON) against `schema`: the problems, a JSON syntax error as
/// one at `root`. None as the schema: any JSON.
pub fn problems(schema: Option<&Value>, text: &str, root: &str) -> Vec<Violation> {
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(error) => {
                return vec![Violation {
                    path: root.to_owned(),
                    message: format!("is not JSON: {error}"),
                }];
            }
        }
    };
    schema
        .and_then(|schema| Schema::compile(schema).ok())
        .and_then(|schema| schema.check(&value, root).err())
        .unwrap_or_default()
}

/// Problems, one line each, under the form.
#[component]
pub fn Problems(problems: Signal<Vec<Violation>>, testid: &'static str) -> impl IntoView {
    view! {
        <Show when=move || problems.with(|p| !p.is_empty())>
            <ul class="problems" data-testid=testid role="status">
                {move || problems.get().into_iter().map(|problem| view! {
                    <li><code>{problem.path}</code>" "{problem.message}</li>
                }).collect_view()}
            </ul>
        </Show>
    }
}

/// The properties a form can be made of: those of an object schema.
fn properties(schema: &Value) -> Option<Vec<(String, Value)>> {
    let object_typed = match schema.get("type") {
        None => true,
        Some(Value::String(kind)) => kind == "object",
        Some(_) => false,
    };
    let properties = schema.get("properties")?.as_object()?;
    (object_typed && !properties.is_empty()).then(|| {
        properties
            .iter()
            .map(|(name, property)| (name.clone(), property.clone()))
            .collect()
    })
}

/// The input with property `name` set to `value` (None: left out). Only
/// called while the text is a JSON object.
fn with_property(text: &str, name: &str, value: Option<Value>) -> String {
    let mut object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    match value {
        Some(value) => {
            object.insert(name.to_owned(), value);
        }
        None => {
            object.remove(name);
        }
    }
    serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
}

fn property_of(text: &str, name: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut object)) => object.remove(name),
        _ => None,
    }
}

fn is_object_text(text: &str) -> bool {
    text.trim().is_empty() || matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_)))
}

/// The input (`input`, JSON text) edited through a form made from
/// `schema` when it describes an object, else (or on request) as JSON;
/// its problems shown live.
#[component]
pub fn InputForm(
    schema: Option<Value>,
    input: RwSignal<String>,
    /// The JSON text box's accessible label.
    label: &'static str,
    testid: &'static str,
    /// The JSON text box's test id.
    json_testid: &'static str,
) -> impl IntoView {
    let fields = schema.as_ref().and_then(properties);
    let has_form = fields.is_some();
    // JSON when there is no form, or the text is not an object the form
    // could edit without losing it.
    let as_json = RwSignal::new(!has_form || !input.with_untracked(|text| is_object_text(text)));
    let checked = schema.clone();
    let live = Signal::derive(move || input.with(|text| problems(checked.as_ref(), text, "input")));
    let required: Vec<String> = schema
        .as_ref()
        .and_then(|schema| schema.get("required"))
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let form = fields.map(|fields| {
        fields
            .into_iter()
            .map(|(name, property)| {
                let required = required.contains(&name);
                view! { <Field name property required input /> }
            })
            .collect_view()
    });
    view! {
        <div class="input-form" data-testid=testid>
            {has_form.then(|| view! {
                <label class="check small">
                    <input type="checkbox" data-testid="as-json" prop:checked=move || as_json.get()
                        on:change=move |ev| {
                            // Back to the form only from an object.
                            let on = event_target_checked(&ev);
                            if on || input.with_untracked(|text| is_object_text(text)) {
                                as_json.set(on);
                            }
                        } />
                    "Edit as JSON"
                </label>
            })}
            <div class="stack" hidden=move || as_json.get()>{form}</div>
            <label class="field" hidden=move || !as_json.get()>
                <span>{label}</span>
                <textarea rows="6" spellcheck="false" aria-label=label data-testid=json_testid
                    prop:value=move || input.get()
                    on:input=move |ev| input.set(event_target_value(&ev))></textarea>
            </label>
            <Problems problems=live testid="input-problems" />
        </div>
    }
}

/// One property's control.
#[component]
fn Field(name: String, property: Value, required: bool, input: RwSignal<String>) -> impl IntoView {
    let title = property
        .get("title")
        .and_then(Value::as_str)
        .map_or_else(|| name.clone(), str::to_owned);
    let description = property
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let kind = property.get("type").and_then(Value::as_str).unwrap_or("");
    let choices: Option<Vec<String>> = property
        .get("enum")
        .and_then(Value::as_array)
        .filter(|values| values.iter().all(Value::is_string))
        .map(|values| {
            values
                .iter()
                .filter_map(|value| value.as_str().map(str::to_owned))
                .collect()
        });
    let field_name = name.clone();
    let current = move || input.with(|text| property_of(text, &field_name));
    let set_name = name.clone();
    let set = move |value: Option<Value>| {
        input.update(|text| *text = with_property(text, &set_name, value));
    };
    let control = match (choices, kind) {
        (Some(choices), _) => {
            let none = current.clone();
            view! {
                <select name=name.clone() on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    set((!chosen.is_empty()).then_some(Value::String(chosen)));
                }>
                    <option value="" selected=move || none().is_none()>"—"</option>
                    {choices.into_iter().map(|choice| {
                        let current = current.clone();
                        let value = choice.clone();
                        let label = choice.clone();
                        let chosen = move || {
                            current().and_then(|v| v.as_str().map(str::to_owned)).as_deref()
                                == Some(choice.as_str())
                        };
                        view! { <option value=value selected=chosen>{label}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        (None, "boolean") => view! {
            <input type="checkbox" name=name.clone()
                prop:checked=move || current().and_then(|v| v.as_bool()).unwrap_or(false)
                on:change=move |ev| set(Some(Value::Bool(event_target_checked(&ev)))) />
        }
        .into_any(),
        (None, "integer" | "number") => {
            let whole = kind == "integer";
            // Shown as typed ("-", "0.", "007") until it is a number again.
            let draft = RwSignal::new(None::<String>);
            let shown = move || {
                draft
                    .get()
                    .unwrap_or_else(|| current().map(|v| v.to_string()).unwrap_or_default())
            };
            view! {
                <input type="text" inputmode=if whole { "numeric" } else { "decimal" } name=name.clone()
                    prop:value=shown
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        let trimmed = text.trim();
                        if trimmed.is_empty() {
                            draft.set(None);
                            set(None);
                        } else if let Ok(number) = serde_json::from_str::<serde_json::Number>(trimmed) {
                            draft.set((number.to_string() != trimmed).then_some(text));
                            set(Some(Value::Number(number)));
                        } else {
                            draft.set(Some(text));
                        }
                    } />
            }
            .into_any()
        }
        (None, "string") => {
            let format = property.get("format").and_then(Value::as_str).unwrap_or("");
            let short = property
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|most| most <= 120);
            let input_type = match format {
                "date" => Some("date"),
                "email" => Some("email"),
                "uri" | "url" => Some("url"),
                _ if short => Some("text"),
                _ => None,
            };
            let text_of = move || {
                current()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let typed = move |ev: leptos::ev::Event| {
                let text = event_target_value(&ev);
                set((!text.is_empty()).then_some(Value::String(text)));
            };
            match input_type {
                Some(input_type) => view! {
                    <input type=input_type name=name.clone() prop:value=text_of on:input=typed />
                }
                .into_any(),
                None => view! {
                    <textarea rows="3" name=name.clone() prop:value=text_of on:input=typed></textarea>
                }
                .into_any(),
            }
        }
        // A list, an object or a value of several types: its own JSON.
        _ => {
            let draft = RwSignal::new(None::<String>);
            let shown = move || {
                draft.get().unwrap_or_else(|| {
                    current()
                        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
                        .unwrap_or_default()
                })
            };
            view! {
                <textarea rows="4" spellcheck="false" name=name.clone() prop:value=shown
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        if text.trim().is_empty() {
                            draft.set(None);
                            set(None);
                        } else if let Ok(value) = serde_json::from_str::<Value>(&text) {
                            draft.set(None);
                            set(Some(value));
                        } else {
                            // Kept as typed until it is JSON again.
                            draft.set(Some(text));
                        }
                    }></textarea>
            }
            .into_any()
        }
    };
    view! {
        <label class="field" data-field=name.clone()>
            <span>{title}{required.then_some(" *")}</span>
            {control}
            {description.map(|text| view! { <small class="muted">{text}</small> })}
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_are_written_into_the_json_and_taken_out() {
        let text = with_property("{\"a\": 1}", "b", Some(json!("x")));
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"a": 1, "b": "x"})
        );
        let text = with_property(&text, "a", None);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"b": "x"})
        );
        assert_eq!(property_of(&text, "b"), Some(json!("x")));
    }

    #[test]
    fn problems_are_live_and_json_errors_are_one() {
        let schema = json!({"type": "object", "required": ["name"]});
        assert_eq!(problems(Some(&schema), "{}", "input")[0].path, "input.name");
        assert!(problems(Some(&schema), "{\"name\": 1}", "input").is_empty());
        assert!(
            problems(Some(&schema), "{", "input")[0]
                .message
                .starts_with("is not JSON")
        );
        assert!(problems(None, "[1]", "input").is_empty());
        assert!(properties(&json!({"type": "array"})).is_none());
        assert_eq!(
            properties(&json!({"properties": {"a": {}}})).map(|p| p.len()),
            Some(1)
        );
    }
}
