//! The top bar's workspace switcher: the personal workspace and every team
//! the user is in. The choice decides where new keys (and later agents and
//! deployments) go, and is remembered on this device.

use leptos::prelude::*;

use crate::auth::use_auth;

#[component]
pub fn WorkspaceSwitcher() -> impl IntoView {
    let auth = use_auth();
    move || {
        let workspaces = auth
            .me
            .with(|me| me.as_ref().map(|me| me.workspaces.clone()))?;
        let choose = move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if let Some(chosen) = auth.me.with_untracked(|me| {
                me.as_ref()?
                    .workspaces
                    .iter()
                    .find(|w| w.id.to_string() == value)
                    .map(|w| w.id)
            }) {
                auth.switch_to(chosen);
            }
        };
        Some(view! {
            <label class="workspace-switcher">
                <span class="visually-hidden">"Workspace"</span>
                <select data-testid="workspace-switcher" on:change=choose>
                    {workspaces.into_iter().map(|w| {
                        let id = w.id;
                        let label = if w.personal { "Personal".to_owned() } else { w.name };
                        view! {
                            <option value=id.to_string() selected=move || auth.active.get() == Some(id)>
                                {label}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
        })
    }
}

/// A workspace picked for one thing (where a device's key acts, which
/// workspace an app may call): every workspace of the user, `chosen`
/// selected.
#[component]
pub fn WorkspaceSelect(
    /// The `name` of the select.
    name: &'static str,
    chosen: RwSignal<Option<types::WorkspaceId>>,
) -> impl IntoView {
    let auth = use_auth();
    view! {
        <label>"Workspace"
            <select name=name on:change=move |ev| {
                chosen.set(event_target_value(&ev).parse::<uuid::Uuid>().ok().map(types::WorkspaceId));
            }>
                {move || auth.me.get().map(|me| me.workspaces.into_iter().map(|w| {
                    let selected = chosen.get_untracked() == Some(w.id);
                    view! { <option value=w.id.to_string() selected=selected>{w.name}</option> }
                }).collect_view())}
            </select>
        </label>
    }
}
