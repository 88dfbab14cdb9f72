//! The settings panel: config values (text the agent reads as
//! `ctx.config`), the spend cap (its own file) and secrets (write-only).

use leptos::prelude::*;

use super::spend_cap::SpendCap;
use super::state::Page;
use crate::api::deployments::{change_deployment_config, change_deployment_secrets};
use crate::components::form::{FieldError, FormError};
use types::deploy::SecretChanges;
use types::error::{ApiError, code};

/// Config values (text) and secrets (write-only).
#[component]
pub(super) fn Settings(page: Page) -> impl IntoView {
    let config_text = RwSignal::new(
        page.current
            .with_untracked(|d| serde_json::to_string_pretty(&d.config).unwrap_or_default()),
    );
    let config_error = RwSignal::new(None::<ApiError>);
    let config_saved = RwSignal::new(false);
    let save_config = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        config_saved.set(false);
        let config = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
            &config_text.get_untracked(),
        ) {
            Ok(config) => config,
            Err(e) => {
                config_error.set(Some(ApiError {
                    field: Some("config".to_owned()),
                    ..ApiError::new(
                        code::INVALID_PARAMETER,
                        format!("config: a JSON object of text values is needed ({e})"),
                    )
                }));
                return;
            }
        };
        let id = page.id;
        config_error.set(None);
        leptos::task::spawn_local(async move {
            match change_deployment_config(id, config).await {
                Ok(deployment) => {
                    page.answered(deployment);
                    config_saved.set(true);
                }
                Err(e) => config_error.set(Some(e)),
            }
        });
    };
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let secret_error = RwSignal::new(None::<ApiError>);
    let change_secrets = move |changes: SecretChanges| {
        let id = page.id;
        secret_error.set(None);
        leptos::task::spawn_local(async move {
            match change_deployment_secrets(id, changes).await {
                Ok(deployment) => {
                    page.answered(deployment);
                    name.set(String::new());
                    value.set(String::new());
                }
                Err(e) => secret_error.set(Some(e)),
            }
        });
    };
    let add_secret = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut changes = SecretChanges::new();
        changes.insert(
            name.get_untracked().trim().to_owned(),
            Some(value.get_untracked()),
        );
        change_secrets(changes);
    };
    view! {
        <section class="panel settings" data-testid="deployment-settings">
            <h2>"Config"</h2>
            <p class="muted small">"Text values the agent reads as " <code>"ctx.config"</code> "; runs started after saving see them."</p>
            <form class="stack" on:submit=save_config>
                <textarea rows="4" spellcheck="false" data-testid="config-input" prop:value=move || config_text.get()
                    on:input=move |ev| config_text.set(event_target_value(&ev))></textarea>
                <FieldError error=config_error field="config" />
                <div>
                    <button class="button" type="submit" data-testid="config-save">"Save config"</button>
                    {move || config_saved.get().then(|| view! { <span class="muted small" role="status">" Saved."</span> })}
                </div>
                <FormError error=config_error fields=&["config"] />
            </form>
            <SpendCap page />
            <h2>"Secrets"</h2>
            <p class="muted small">"Kept encrypted; the agent reads them as " <code>"ctx.secrets"</code> ". Values are never shown again."</p>
            <ul class="secret-list" data-testid="secrets">
                {move || page.current.with(|d| d.secrets.clone()).into_iter().map(|secret| {
                    let remove = secret.clone();
                    view! {
                        <li>
                            <code>{secret.clone()}</code>
                            <span class="muted small">" ••••••"</span>
                            <button class="button small" on:click=move |_| {
                                let mut changes = SecretChanges::new();
                                changes.insert(remove.clone(), None);
                                change_secrets(changes);
                            }>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="secret-form" on:submit=add_secret>
                <input type="text" placeholder="NAME" data-testid="secret-name" autocomplete="off"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <input type="password" placeholder="value" data-testid="secret-value" autocomplete="new-password"
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                <button class="button" type="submit" data-testid="secret-save">"Set secret"</button>
            </form>
            <FormError error=secret_error fields=&[] />
        </section>
    }
}
