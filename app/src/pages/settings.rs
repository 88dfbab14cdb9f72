//! Settings for the signed-in user: profile, email address (verified, or
//! a link to send again; moving to another address), password, sessions,
//! and API keys (created, shown once, listed, revoked).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::account::{
    change_email, change_password, create_api_key, list_api_keys, list_sessions,
    resend_verification, revoke_api_key, revoke_other_sessions,
};
use crate::auth::{SignedInPage, use_auth};
use crate::components::form::{FieldError, FormError};
use crate::components::scopes::ScopeChecklist;
use crate::components::status::ErrorPanel;
use crate::remote::Remote;
use types::account::{CreateApiKey, CreatedApiKey, EmailChange, PasswordChange, Scope};
use types::error::ApiError;

use super::time::minute as when;

#[component]
pub(crate) fn SettingsNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            <A href="/settings" exact=true>"Profile & sessions"</A>
            <A href="/settings/keys">"API keys"</A>
            <A href="/settings/webhooks">"Webhooks"</A>
        </nav>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <SignedInPage class="settings-page" title="Settings"><SettingsNav /><ResetDone /><Profile /><EmailSettings /><PasswordSettings /><Sessions /></SignedInPage>
    }
}

#[component]
fn Profile() -> impl IntoView {
    let auth = use_auth();
    move || {
        auth.me.get().map(|me| {
            let user = me.user;
            view! {
                <section class="panel">
                    <h2>"Profile"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd data-testid="profile-name">{user.display_name}</dd>
                        <dt>"Handle"</dt><dd>"@"{user.handle}</dd>
                        <dt>"GitHub"</dt><dd>{if user.github_linked {
                            view! { <span>"Linked"</span> }.into_any()
                        } else {
                            view! { <a class="button small" rel="external" href="/auth/github/start?link=true&return_to=/settings">"Link GitHub"</a> }.into_any()
                        }}</dd>
                        <dt>"Workspaces"</dt><dd>{me.workspaces.into_iter().map(|w| view! {
                            <span class="tag">{w.name}" · "{w.role.as_str()}</span>
                        }).collect_view()}</dd>
                    </dl>
                </section>
            }
        })
    }
}

/// "Personal" or the team's name, as the top bar's switcher says it.
fn workspace_name(auth: crate::auth::Auth, id: types::WorkspaceId) -> String {
    auth.me
        .with_untracked(|me| {
            let workspace = me.as_ref()?.workspaces.iter().find(|w| w.id == id)?;
            Some(if workspace.personal {
                "Personal".to_owned()
            } else {
                workspace.name.clone()
            })
        })
        .unwrap_or_else(|| "—".to_owned())
}

/// After a reset link set a new password (`?reset=1`): what happened.
#[component]
fn ResetDone() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query.read().get("reset").is_some().then(|| view! {
            <section class="panel panel-notice" role="status" data-testid="reset-done">
                "Your new password is set, and every other device signed in to your account was signed out."
            </section>
        })
    }
}

/// "Send a new link" for an unverified address; says where it went.
#[component]
pub fn ResendVerification() -> impl IntoView {
    let outcome = RwSignal::new(None::<Result<String, ApiError>>);
    let busy = RwSignal::new(false);
    let resend = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            outcome.set(Some(resend_verification().await.map(|queued| queued.to)));
            busy.set(false);
        });
    };
    view! {
        <button class="button small" on:click=resend disabled=move || busy.get() data-testid="resend-verification">
            "Send a new link"
        </button>
        {move || outcome.get().map(|result| match result {
            Ok(to) => view! { <span class="muted small" role="status">" Sent to "{to}"."</span> }.into_any(),
            Err(error) => view! { <span class="field-error" role="alert">" "{error.message}</span> }.into_any(),
        })}
    }
}

#[component]
fn EmailSettings() -> impl IntoView {
    let auth = use_auth();
    let new_email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let has_password = move || {
        auth.me
            .with(|me| me.as_ref().is_some_and(|me| me.user.has_password))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        notice.set(None);
        let request = EmailChange {
            new_email: new_email.get_untracked(),
            password: has_password().then(|| password.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match change_email(request).await {
                Ok(queued) => {
                    notice.set(Some(format!(
                        "We sent a link to {}. Your address changes when you follow it.",
                        queued.to
                    )));
                    new_email.set(String::new());
                    password.set(String::new());
                    auth.load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="panel" data-testid="email-settings">
            <h2>"Email address"</h2>
            {move || auth.me.get().map(|me| {
                let user = me.user;
                view! {
                    <p>
                        <strong>{user.email.unwrap_or_default()}</strong>" "
                        {if user.email_verified {
                            view! { <span class="badge" data-testid="email-status">"Verified"</span> }.into_any()
                        } else {
                            view! { <span class="badge warn" data-testid="email-status">"Not verified"</span>" "<ResendVerification /> }.into_any()
                        }}
                    </p>
                    {user.pending_email.map(|pending| view! {
                        <p class="muted small" data-testid="pending-email">"Waiting for you to follow the link sent to "{pending}"."</p>
                    })}
                }
            })}
            <form class="stack" on:submit=submit>
                <label>"New address"
                    <input type="email" name="new-email" autocomplete="email" required
                        prop:value=move || new_email.get() on:input=move |ev| new_email.set(event_target_value(&ev)) />
                </label>
                <FieldError error field="new_email" />
                {move || has_password().then(|| view! {
                    <label>"Current password"
                        <input type="password" name="email-password" autocomplete="current-password" required
                            prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                    </label>
                    <FieldError error field="password" />
                })}
                <FormError error fields=&["new_email", "password"] />
                {move || notice.get().map(|text| view! { <p class="muted small" role="status" data-testid="email-notice">{text}</p> })}
                <button class="button" type="submit">"Change address"</button>
            </form>
        </section>
    }
}

#[component]
fn PasswordSettings() -> impl IntoView {
    let auth = use_auth();
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<&'static str>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        notice.set(None);
        let request = PasswordChange {
            current_password: current.get_untracked(),
            new_password: new_password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match change_password(request).await {
                Ok(()) => {
                    notice.set(Some(
                        "Password changed. Every other session was signed out.",
                    ));
                    current.set(String::new());
                    new_password.set(String::new());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let has_password = move || {
        auth.me
            .with(|me| me.as_ref().is_some_and(|me| me.user.has_password))
    };
    view! {
        <section class="panel" data-testid="password-settings">
            <h2>"Password"</h2>
            {move || if has_password() {
                view! {
                    <form class="stack" on:submit=submit>
                        <label>"Current password"
                            <input type="password" name="current-password" autocomplete="current-password" required
                                prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev)) />
                        </label>
                        <FieldError error field="current_password" />
                        <label>"New password"
                            <input type="password" name="new-password" autocomplete="new-password" required minlength="10"
                                prop:value=move || new_password.get() on:input=move |ev| new_password.set(event_target_value(&ev)) />
                        </label>
                        <FieldError error field="new_password" />
                        <FormError error fields=&["current_password", "new_password"] />
                        {move || notice.get().map(|text| view! { <p class="muted small" role="status" data-testid="password-notice">{text}</p> })}
                        <button class="button" type="submit">"Change password"</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <p class="muted">"You sign in with GitHub. To add a password, ask for a link on the "
                        <A href="/forgot-password">"password reset page"</A>"."</p>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let sessions = Remote::new(list_sessions);
    let notice = RwSignal::new(None::<Result<u64, ApiError>>);
    let sign_out_others = move |_| {
        leptos::task::spawn_local(async move {
            let result = revoke_other_sessions().await;
            notice.set(Some(result));
            sessions.reload();
        });
    };
    view! {
        <section class="panel">
            <h2>"Where you are signed in"</h2>
            {sessions.view("Loading sessions…", |list| view! {
                            <table class="table" data-testid="sessions">
                                <thead><tr><th>"Device"</th><th>"IP"</th><th>"Last seen"</th><th>"Signed in"</th></tr></thead>
                                <tbody>{list.into_iter().map(|s| view! {
                                    <tr data-testid="session-row">
                                        <td>{s.user_agent}{s.current.then(|| view! { <span class="badge">"This device"</span> })}</td>
                                        <td>{s.ip}</td>
                                        <td>{when(s.last_seen_at)}</td>
                                        <td>{when(s.created_at)}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
            })}
            <button class="button" on:click=sign_out_others data-testid="sign-out-others">"Sign out other sessions"</button>
            {move || notice.get().map(|result| match result {
                Ok(n) => view! { <p class="muted small">{format!("Signed out {n} other session(s).")}</p> }.into_any(),
                Err(error) => view! { <ErrorPanel error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! { <SignedInPage class="settings-page" title="Settings"><SettingsNav /><ApiKeys /></SignedInPage> }
}

#[component]
fn ApiKeys() -> impl IntoView {
    let auth = use_auth();
    let keys = Remote::new(list_api_keys);
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec![Scope::AgentsRead]);
    let expiry = RwSignal::new("90".to_owned());
    let cap = RwSignal::new(String::new());
    let created = RwSignal::new(None::<CreatedApiKey>);
    let error = RwSignal::new(None::<ApiError>);

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let spend_cap_credits = match cap.with_untracked(|c| c.trim().to_owned()) {
            text if text.is_empty() => None,
            text => match text.parse::<i64>() {
                Ok(credits) => Some(credits),
                Err(_) => {
                    error.set(Some(ApiError {
                        field: Some("spend_cap_credits".to_owned()),
                        ..ApiError::new(
                            types::error::code::INVALID_PARAMETER,
                            "spend_cap_credits: a whole number of credits, or empty for no cap",
                        )
                    }));
                    return;
                }
            },
        };
        let request = CreateApiKey {
            name: name.get_untracked(),
            scopes: chosen.get_untracked(),
            expires_in_days: expiry.get_untracked().parse().ok(),
            workspace: auth.active.get_untracked(),
            spend_cap_credits,
        };
        leptos::task::spawn_local(async move {
            match create_api_key(request).await {
                Ok(key) => {
                    created.set(Some(key));
                    name.set(String::new());
                    keys.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let revoke = move |id: types::ApiKeyId| {
        leptos::task::spawn_local(async move {
            match revoke_api_key(id).await {
                Ok(()) => keys.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        {move || created.get().map(|key| view! {
            <section class="panel panel-notice" role="status" data-testid="new-key">
                <h2>"Your new key"</h2>
                <p>"Copy it now: it will not be shown again."</p>
                <code class="token" data-testid="new-token">{key.token}</code>
                <button class="button" on:click=move |_| created.set(None)>"I have copied it"</button>
            </section>
        })}
        <section class="panel">
            <h2>"Create an API key"</h2>
            <p class="muted small" data-testid="key-workspace">{move || auth.active_workspace().map(|w| format!(
                "The key acts in the {} workspace (switch in the top bar), never beyond your role there.", w.name
            ))}</p>
            <form class="stack" on:submit=create>
                <label>"Name"
                    <input type="text" name="key-name" required maxlength="80" placeholder="CI deploys"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <ScopeChecklist legend="Scopes" name="scope" scopes=Scope::ALL.to_vec() chosen=chosen />
                <label>"Expires"
                    <select name="expiry" on:change=move |ev| expiry.set(event_target_value(&ev))>
                        <option value="30">"in 30 days"</option>
                        <option value="90" selected>"in 90 days"</option>
                        <option value="365">"in a year"</option>
                        <option value="never">"never"</option>
                    </select>
                </label>
                <label>"Monthly spend cap (credits)"
                    <input type="number" name="spend-cap" min="0" placeholder="no cap"
                        prop:value=move || cap.get() on:input=move |ev| cap.set(event_target_value(&ev)) />
                    <span class="muted small">"Paid runs started with the key stop at this many credits a month."</span>
                </label>
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message}</p> })}
                <button class="button primary" type="submit">"Create key"</button>
            </form>
        </section>
        <section class="panel">
            <h2>"Your keys"</h2>
            {keys.view("Loading keys…", move |list| if list.is_empty() {
                        view! { <p class="muted" data-testid="no-keys">"No keys yet."</p> }.into_any()
                    } else { view! {
                            <table class="table" data-testid="keys">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Workspace"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th>"Spend this month"</th><th></th></tr></thead>
                                <tbody>{list.into_iter().map(|key| {
                                    let id = key.id;
                                    let revoked = key.revoked_at.is_some();
                                    view! {
                                        <tr data-testid="key-row" data-state=if revoked { "revoked" } else { "active" }>
                                            <td>{key.name}</td>
                                            <td><code>{key.prefix}"_…"</code></td>
                                            <td>{key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")}</td>
                                            <td>{workspace_name(auth, key.workspace)}</td>
                                            <td>{when(key.created_at)}</td>
                                            <td>{key.last_used_at.map(when).unwrap_or_else(|| "never".to_owned())}</td>
                                            <td>{key.expires_at.map(when).unwrap_or_else(|| "never".to_owned())}</td>
                                            <td data-testid="key-spend">{match key.spend_cap_credits {
                                                Some(cap) => format!("{} of {cap} credits", key.spent_this_month.unwrap_or(0)),
                                                None => "no cap".to_owned(),
                                            }}</td>
                                            <td>{if revoked {
                                                view! { <span class="badge">"Revoked"</span> }.into_any()
                                            } else {
                                                view! { <button class="button small" on:click=move |_| revoke(id)>"Revoke"</button> }.into_any()
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                    }.into_any() })}
        </section>
    }
}
