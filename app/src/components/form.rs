//! Form pieces: errors (the API names the field at fault, so the message
//! goes under that field; anything else goes above the submit button) and
//! the filter drop-downs of a section's head.

use leptos::prelude::*;

use types::error::ApiError;

/// The error for `field`, if the last answer blamed it.
#[component]
pub fn FieldError(error: RwSignal<Option<ApiError>>, field: &'static str) -> impl IntoView {
    move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| e.field.as_deref() == Some(field))
                .map(|e| {
                    // The message starts with the field's name; the label says it already.
                    let prefix = format!("{field}: ");
                    let message = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
                    let mut message = message.to_owned();
                    if let Some(first) = message.get(..1) {
                        message = first.to_uppercase() + &message[1..];
                    }
                    view! { <p class="field-error" role="alert">{message}</p> }
                })
        })
    }
}

/// The error that belongs to none of `fields`.
#[component]
pub fn FormError(
    error: RwSignal<Option<ApiError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| e.field.as_deref().is_none_or(|f| !fields.contains(&f)))
                .map(|e| view! { <div class="panel panel-error form-error" role="alert" data-testid="form-error">{e.message.clone()}</div> })
        })
    }
}

/// A labelled drop-down in a section's head that sets `value` to the
/// chosen option (`children`).
#[component]
pub fn Filter(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <label class="inline">
            <span class="muted small">{label}</span>
            <select data-testid=testid on:change=move |ev| value.set(event_target_value(&ev))>
                {children()}
            </select>
        </label>
    }
}
