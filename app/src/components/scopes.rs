//! A checkbox per API-key scope, ticking into `chosen`: the key form in
//! Settings and the device sign-in's approval page.

use leptos::prelude::*;
use types::account::Scope;

#[component]
pub fn ScopeChecklist(
    legend: &'static str,
    /// The `name` of each checkbox.
    name: &'static str,
    /// The scopes offered.
    scopes: Vec<Scope>,
    chosen: RwSignal<Vec<Scope>>,
) -> impl IntoView {
    view! {
        <fieldset class="scopes">
            <legend>{legend}</legend>
            {scopes.into_iter().map(|scope| view! {
                <label class="check">
                    <input type="checkbox" name=name value=scope.as_str()
                        prop:checked=move || chosen.with(|c| c.contains(&scope))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| {
                                c.retain(|s| *s != scope);
                                if on { c.push(scope); }
                            });
                        } />
                    <code>{scope.as_str()}</code>
                </label>
            }).collect_view()}
        </fieldset>
    }
}
