//! Integrations: the active workspace's connected accounts (status, who
//! connected each, what it granted, a banner for any that broke) and the
//! provider catalogue, searched by name, category or description. A
//! sign-in provider connects by leaving for its consent page and coming
//! back here (`?connected=` or `?connect_error=`); a key provider takes the
//! key in a form, checked at the provider before it is kept.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::connections::{
    connect_by_sign_in, connect_key, disconnect_connection, list_connections, list_providers,
};
use crate::auth::{SignedInPage, use_auth};
use crate::components::browser::{confirm, go_to};
use crate::components::form::{FieldError, FormError};
use crate::pages::time::second;
use crate::remote::Remote;
use types::account::Role;
use types::connection::{
    Connection, ConnectionStatus, NewKeyConnection, Provider, ProviderKind, StartConnection,
};
use types::error::ApiError;

pub const PATH: &str = crate::routes::INTEGRATIONS;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <SignedInPage class="integrations-page" title="Integrations">
            <Integrations />
        </SignedInPage>
    }
}

/// What `/connect/callback` said, in words.
pub fn connect_error_text(code: &str) -> &'static str {
    match code {
        "connect_denied" => "The provider said no: access was not granted.",
        "connect_state_mismatch" | "connect_flow_missing" => {
            "That sign-in did not start in this browser (or was finished already). Start again here."
        }
        "connect_session_ended" => {
            "You were signed out meanwhile, or lost access to the workspace."
        }
        "connect_unavailable" => "This server cannot connect that provider now.",
        _ => "The provider could not complete the sign-in. Try again in a moment.",
    }
}

#[component]
fn Integrations() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let workspace = move || {
        auth.active_workspace()
            .filter(|w| !w.personal)
            .map(|w| w.slug)
    };
    let role = move || auth.active_workspace().map(|w| w.role);
    let me = move || auth.me.with(|me| me.as_ref().map(|me| me.user.id.0));
    let connections = Remote::new(move || list_connections(workspace()));
    let providers = Remote::new(list_providers);
    let search = RwSignal::new(String::new());
    let open = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let remove = move |connection: Connection| {
        let question = format!(
            "Disconnect {} ({})? It is revoked at the provider, and the {} deployment(s) using it stop at their next call.",
            connection.provider_name, connection.account_name, connection.bindings
        );
        if !confirm(&question) {
            return;
        }
        leptos::task::spawn_local(async move {
            match disconnect_connection(connection.id).await {
                Ok(()) => connections.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let may_manage = move |connection: &Connection| {
        Some(connection.owner_id) == me() || role().is_some_and(|r| r >= Role::Admin)
    };
    view! {
        {move || query.with(|q| {
            if q.get("connected").is_some() {
                Some(view! {
                    <p class="panel panel-notice" role="status" data-testid="connected">"Connected. Bind it to a deployment from that deployment's Connections panel."</p>
                }.into_any())
            } else {
                q.get("connect_error").map(|code| view! {
                    <p class="panel panel-error form-error" role="alert" data-testid="connect-error">{connect_error_text(&code)}</p>
                }.into_any())
            }
        })}
        {move || connections.get().and_then(Result::ok).map(|list| {
            let broken: Vec<Connection> = list.into_iter().filter(|c| c.status == ConnectionStatus::Broken).collect();
            (!broken.is_empty()).then(|| view! {
                <section class="panel panel-error" role="alert" data-testid="broken-banner">
                    <h2>"Needs connecting again"</h2>
                    <p>"Deployments using these cannot reach the provider until they are connected again:"</p>
                    <ul>{broken.into_iter().map(|c| view! {
                        <li><strong>{c.provider_name.clone()}</strong> " · " {c.account_name.clone()} " — " {c.broken_reason.clone().unwrap_or_default()}</li>
                    }).collect_view()}</ul>
                </section>
            })
        })}
        <FormError error fields=&[] />
        <section class="panel">
            <h2>"Connected accounts"</h2>
            <p class="muted small">{move || auth.active_workspace().map(|w| format!(
                "Accounts the {} workspace's deployments may act in. Agents never see their tokens: Agentdeck adds them to each call, only to the provider's own API.", w.name
            ))}</p>
            {connections.view("Loading connections…", move |list| if list.is_empty() {
                view! { <p class="muted" data-testid="no-connections">"Nothing connected yet: pick a provider below."</p> }.into_any()
            } else { view! {
                <table class="table" data-testid="connections">
                    <thead><tr><th>"Provider"</th><th>"Account"</th><th>"Granted"</th><th>"Status"</th><th>"Used by"</th><th>"Connected by"</th><th></th></tr></thead>
                    <tbody>{list.into_iter().map(|connection| {
                        let manage = may_manage(&connection);
                        let shown = connection.clone();
                        let status = match connection.status {
                            ConnectionStatus::Active => "active",
                            ConnectionStatus::Broken => "broken",
                        };
                        let provider = connection.provider.clone();
                        view! {
                            <tr data-testid="connection" data-provider=connection.provider.clone()>
                                <td>{connection.provider_name.clone()}</td>
                                <td data-testid="connection-account">{connection.account_name.clone()}</td>
                                <td class="small"><code>{connection.scopes.join(" ")}</code></td>
                                <td><span class="status" data-status=if status == "active" { "running" } else { "failed" } data-testid="connection-status">{status}</span></td>
                                <td>{match connection.bindings { 0 => "no deployment".to_owned(), 1 => "1 deployment".to_owned(), n => format!("{n} deployments") }}</td>
                                <td class="small">{connection.owner_name.clone()} <br /> <span class="muted">{second(connection.created_at)}</span></td>
                                <td>{manage.then(|| view! {
                                    <button class="button small" on:click=move |_| open.set(Some(provider.clone()))>"Reconnect"</button>
                                    <button class="button small danger" data-testid="disconnect" on:click=move |_| remove(shown.clone())>"Disconnect"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            }.into_any() })}
        </section>
        <section class="panel">
            <div class="section-head">
                <h2>"Catalogue"</h2>
                <input type="search" name="provider-search" placeholder="Search providers" aria-label="Search providers"
                    prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            {providers.view("Loading the catalogue…", move |all| {
                let all = StoredValue::new(all);
                view! {
                    <div class="grid providers" data-testid="providers">
                        {move || {
                            let words: Vec<String> = search.get().to_lowercase().split_whitespace().map(str::to_owned).collect();
                            let shown: Vec<Provider> = all.with_value(|all| all.iter().filter(|p| matches(p, &words)).cloned().collect());
                            if shown.is_empty() {
                                return view! { <p class="muted" data-testid="no-providers">"No provider matches."</p> }.into_any();
                            }
                            shown.into_iter().map(|provider| view! {
                                <ProviderCard provider open workspace=Signal::derive(workspace)
                                    may_connect=Signal::derive(move || role().is_some_and(|r| r >= Role::Member))
                                    connected=Callback::new(move |()| connections.reload()) />
                            }).collect_view().into_any()
                        }}
                    </div>
                }
            })}
        </section>
    }
}

/// Every word of the search is in the provider's name, id, description or
/// categories.
fn matches(provider: &Provider, words: &[String]) -> bool {
    let text = format!(
        "{} {} {} {}",
        provider.name,
        provider.id,
        provider.description,
        provider.categories.join(" ")
    )
    .to_lowercase();
    words.iter().all(|word| text.contains(word.as_str()))
}

/// The provider's tile: its letters on its colour.
#[component]
pub fn ProviderTile(letters: String, background: String) -> impl IntoView {
    // The catalogue checks `#rrggbb`; anything else is not put in a style.
    let background = if background.len() == 7
        && background.starts_with('#')
        && background[1..].chars().all(|c| c.is_ascii_hexdigit())
    {
        background
    } else {
        "#556677".to_owned()
    };
    view! {
        <span class="provider-tile" aria-hidden="true" style=format!("background:{background}")>{letters}</span>
    }
}

/// One catalogue entry, with its connect form when open.
#[component]
fn ProviderCard(
    provider: Provider,
    open: RwSignal<Option<String>>,
    workspace: Signal<Option<String>>,
    may_connect: Signal<bool>,
    connected: Callback<()>,
) -> impl IntoView {
    let id = provider.id.clone();
    let is_open = {
        let id = id.clone();
        move || open.get().as_deref() == Some(id.as_str())
    };
    let kind = match provider.kind {
        ProviderKind::Oauth2 => "Sign in",
        ProviderKind::ClientCredentials => "Your app's client id and secret",
        ProviderKind::ApiKey => "Key",
        ProviderKind::Basic => "User name and password",
    };
    let shown = StoredValue::new(provider.clone());
    view! {
        <article class="card provider" data-testid="provider" data-provider=provider.id.clone()>
            <div class="card-head">
                <ProviderTile letters=provider.icon_letters.clone() background=provider.icon_background.clone() />
                <div class="card-title"><h3>{provider.name.clone()}</h3>
                    <span class="muted small">{kind} " · " {provider.categories.join(", ")}</span></div>
            </div>
            <p class="card-summary">{provider.description.clone()}</p>
            <p class="small">
                <a href=provider.docs_api.clone() target="_blank" rel="noopener noreferrer">"API docs"</a>
                " · " <a href=provider.docs_auth.clone() target="_blank" rel="noopener noreferrer">"How it connects"</a>
            </p>
            {move || match (provider.available, may_connect.get()) {
                (false, _) => view! { <p class="badge warn" data-testid="unavailable">"Not set up on this server"</p> }.into_any(),
                (true, false) => view! { <p class="muted small">"Members and up connect accounts."</p> }.into_any(),
                (true, true) => {
                    let id = id.clone();
                    view! { <button class="button small primary" data-testid="connect"
                        on:click=move |_| open.set(Some(id.clone()))>"Connect"</button> }.into_any()
                }
            }}
            {move || is_open().then(|| view! {
                <ConnectForm provider=shown.get_value() workspace open connected />
            })}
        </article>
    }
}

/// The form that connects one provider: scopes and values for a sign-in,
/// the key (and secret) otherwise.
#[component]
fn ConnectForm(
    provider: Provider,
    workspace: Signal<Option<String>>,
    open: RwSignal<Option<String>>,
    connected: Callback<()>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let chosen = RwSignal::new(
        provider
            .scopes
            .iter()
            .filter(|s| s.default)
            .map(|s| s.name.clone())
            .collect::<Vec<_>>(),
    );
    let params = RwSignal::new(
        provider
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone().unwrap_or_default()))
            .collect::<BTreeMap<String, String>>(),
    );
    let key = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let oauth = provider.kind == ProviderKind::Oauth2;
    let provider_id = provider.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        busy.set(true);
        let provider = provider_id.clone();
        let scopes = chosen.get_untracked();
        let params = params
            .get_untracked()
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let workspace = workspace.get_untracked();
        leptos::task::spawn_local(async move {
            if oauth {
                let request = StartConnection {
                    provider,
                    scopes,
                    params,
                    return_to: Some(PATH.to_owned()),
                };
                match connect_by_sign_in(workspace, request).await {
                    Ok(started) => go_to(&started.authorize_url),
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(e));
                    }
                }
            } else {
                let request = NewKeyConnection {
                    provider,
                    key: key.get_untracked(),
                    secret: Some(secret.get_untracked()).filter(|s| !s.is_empty()),
                    scopes,
                    params,
                };
                busy.set(false);
                match connect_key(workspace, request).await {
                    Ok(_) => {
                        open.set(None);
                        connected.run(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            }
        });
    };
    let optional: Vec<_> = provider
        .scopes
        .iter()
        .filter(|s| !s.default)
        .cloned()
        .collect();
    let defaults: Vec<_> = provider
        .scopes
        .iter()
        .filter(|s| s.default)
        .cloned()
        .collect();
    let secret_label = provider.secret_label.clone();
    view! {
        <form class="stack connect-form" on:submit=submit data-testid="connect-form">
            {(!provider.scopes.is_empty()).then(|| view! {
                <fieldset class="scopes">
                    <legend>"What agents may do"</legend>
                    {defaults.into_iter().map(|scope| view! {
                        <label class="check"><input type="checkbox" checked disabled />
                            <span><code>{scope.name.clone()}</code> " " <span class="muted small">{scope.description.clone()}</span></span></label>
                    }).collect_view()}
                    {optional.into_iter().map(|scope| {
                        let name = scope.name.clone();
                        let checked = name.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" name="scope" value=name.clone()
                                    prop:checked=move || chosen.with(|c| c.contains(&checked))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|s| *s != name);
                                            if on { c.push(name.clone()); }
                                        });
                                    } />
                                <span><code>{scope.name.clone()}</code> " " <span class="muted small">{scope.description.clone()}</span></span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <FieldError error field="scopes" />
            })}
            {provider.params.iter().map(|param| {
                let name = param.name.clone();
                let value = name.clone();
                view! {
                    <label>{param.label.clone()}
                        <input type="text" name=format!("param-{}", param.name) placeholder=param.example.clone()
                            prop:value=move || params.with(|p| p.get(&value).cloned().unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); params.update(|p| { p.insert(name.clone(), v); }); } />
                    </label>
                }
            }).collect_view()}
            {(!provider.params.is_empty()).then(|| view! { <FieldError error field="params" /> })}
            {(!oauth).then(|| view! {
                <label>{provider.key_label.clone().unwrap_or_else(|| "Key".to_owned())}
                    <input type="password" name="key" required autocomplete="off"
                        prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
                </label>
                <FieldError error field="key" />
                {secret_label.map(|label| view! {
                    <label>{label}
                        <input type="password" name="secret" autocomplete="off"
                            prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev)) />
                    </label>
                    <FieldError error field="secret" />
                })}
                {provider.help_url.clone().map(|url| view! {
                    <p class="small"><a href=url target="_blank" rel="noopener noreferrer">"Where to find it"</a></p>
                })}
            })}
            <FormError error fields=&["scopes", "params", "key", "secret"] />
            <div class="row">
                <button class="button primary" type="submit" data-testid="connect-submit" disabled=move || busy.get()>
                    {if oauth { format!("Continue to {}", provider.name) } else { "Check and connect".to_owned() }}
                </button>
                <button class="button" type="button" on:click=move |_| open.set(None)>"Cancel"</button>
            </div>
        </form>
    }
}
