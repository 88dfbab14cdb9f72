//! A deployment's connections: each provider its agent asks for, the
//! scopes it would use, the account bound to it, and the consent screen
//! that binds one (naming the agent, its author, the account and each
//! scope). Shown on the deployment page and in the deploy step; nothing
//! when the agent asks for no connection. Only a connection's owner or a
//! workspace admin may bind it, so only those are offered.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::connections::{
    bind_deployment_connection, connect_by_sign_in, list_connections, list_deployment_connections,
    unbind_deployment_connection,
};
use crate::auth::use_auth;
use crate::components::browser::go_to;
use crate::components::form::FormError;
use crate::pages::integrations::{PATH as INTEGRATIONS, ProviderTile};
use crate::pages::time::second;
use crate::remote::Remote;
use types::account::Role;
use types::connection::{
    BindConnection, Connection, ConnectionStatus, DeploymentConnection, DeploymentConnections,
    StartConnection,
};
use types::error::ApiError;

#[component]
pub fn ConnectionsPanel(
    deployment: Uuid,
    /// The deployment's workspace (its slug).
    workspace: String,
    /// Whether the viewer may change the deployment (member and up).
    may_change: Signal<bool>,
) -> impl IntoView {
    let needs = Remote::new(move || list_deployment_connections(deployment));
    let slug = workspace.clone();
    let connections = Remote::new(move || list_connections(Some(slug.clone())));
    let error = RwSignal::new(None::<ApiError>);
    let auth = use_auth();
    let is_admin = {
        let workspace = workspace.clone();
        Signal::derive(move || {
            auth.me.with(|me| {
                me.as_ref().is_some_and(|me| {
                    me.workspaces
                        .iter()
                        .any(|w| w.slug == workspace && w.role >= Role::Admin)
                })
            })
        })
    };
    let me = Signal::derive(move || auth.me.with(|me| me.as_ref().map(|me| me.user.id.0)));
    let changed = Callback::new(move |()| {
        needs.reload();
        connections.reload();
    });
    move || {
        let Some(Ok(screen)) = needs.get() else {
            return None;
        };
        if screen.items.is_empty() {
            return None;
        }
        let all: Vec<Connection> = connections.get().and_then(Result::ok).unwrap_or_default();
        let screen = StoredValue::new(screen);
        Some(view! {
            <section class="panel connections" id="connections" data-testid="connections-panel">
                <h2>"Connections"</h2>
                <p class="muted small">"This agent acts in accounts of yours at other services. Bind each to a connected account; Agentdeck adds the account's token to the agent's calls to that service's API, and the agent never sees it."</p>
                <FormError error fields=&[] />
                {screen.with_value(|s| s.items.clone()).into_iter().map(|need| {
                    let offered: Vec<Connection> = all
                        .iter()
                        .filter(|c| need.candidates.contains(&c.id))
                        .filter(|c| is_admin.get_untracked() || Some(c.owner_id) == me.get_untracked())
                        .cloned()
                        .collect();
                    view! { <Need need offered screen deployment workspace=workspace.clone() may_change error changed /> }
                }).collect_view()}
            </section>
        })
    }
}

/// One provider the agent asks for.
#[component]
fn Need(
    need: DeploymentConnection,
    offered: Vec<Connection>,
    screen: StoredValue<DeploymentConnections>,
    deployment: Uuid,
    workspace: String,
    may_change: Signal<bool>,
    error: RwSignal<Option<ApiError>>,
    changed: Callback<()>,
) -> impl IntoView {
    let chosen = RwSignal::new(offered.first().map(|c| c.id));
    let reviewing = RwSignal::new(false);
    let agreed = RwSignal::new(false);
    let provider = need.provider.clone();
    let scope_names: Vec<String> = need.scopes.iter().map(|s| s.name.clone()).collect();
    let bind = {
        let provider = provider.clone();
        let consent = scope_names.clone();
        move |_| {
            let Some(connection) = chosen.get_untracked() else {
                return;
            };
            error.set(None);
            let provider = provider.clone();
            let consent = consent.clone();
            leptos::task::spawn_local(async move {
                let request = BindConnection {
                    connection,
                    consented: agreed.get_untracked(),
                    consent,
                    // The version this screen showed: refused if it moved.
                    version_id: Some(screen.with_value(|s| s.version_id)),
                };
                match bind_deployment_connection(deployment, provider, request).await {
                    Ok(_) => {
                        reviewing.set(false);
                        agreed.set(false);
                        changed.run(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let unbind = {
        let provider = provider.clone();
        move |_| {
            error.set(None);
            let provider = provider.clone();
            leptos::task::spawn_local(async move {
                match unbind_deployment_connection(deployment, provider).await {
                    Ok(()) => changed.run(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let connect = {
        let provider = provider.clone();
        let scopes = scope_names.clone();
        move |_| {
            error.set(None);
            let request = StartConnection {
                provider: provider.clone(),
                scopes: scopes.clone(),
                params: Default::default(),
                return_to: Some(format!("/deployments/{deployment}#connections")),
            };
            // The deployment's workspace is where the connection goes: the
            // browser's active one is not necessarily it.
            let workspace = Some(workspace.clone());
            leptos::task::spawn_local(async move {
                match connect_by_sign_in(workspace, request).await {
                    Ok(started) => go_to(&started.authorize_url),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let bound = need.connection.clone();
    let offered = StoredValue::new(offered);
    let scopes = need.scopes.clone();
    let provider_name = need.provider_name.clone();
    view! {
        <div class="need" data-testid="need" data-provider=need.provider.clone()>
            <div class="card-head">
                <ProviderTile letters={need.provider_name.chars().take(2).collect::<String>()} background={"#556677".to_owned()} />
                <div class="card-title"><h3>{need.provider_name.clone()}</h3>
                    <span class="muted small"><code>{scope_names.join(" ")}</code></span></div>
            </div>
            {match &bound {
                Some(connection) => view! {
                    <p data-testid="bound">
                        "Bound to " <strong>{connection.account_name.clone()}</strong>
                        {(connection.status == ConnectionStatus::Broken).then(|| view! { <span class="badge warn">"needs connecting again"</span> })}
                        {need.stale.then(|| view! { <span class="badge warn" data-testid="stale">"for another version: review and bind again"</span> })}
                        <span class="muted small">{format!(
                            " · by {} {}",
                            need.bound_by.clone().unwrap_or_default(),
                            need.bound_at.map(second).unwrap_or_default()
                        )}</span>
                    </p>
                }.into_any(),
                None => view! { <p class="muted" data-testid="unbound">"Not bound: the agent's calls to " {need.provider_name.clone()} " are refused."</p> }.into_any(),
            }}
            {move || may_change.get().then(|| {
                let bound = bound.clone();
                let unbind = unbind.clone();
                let connect = connect.clone();
                let has_offers = offered.with_value(|o| !o.is_empty());
                view! {
                    <div class="row">
                        {bound.is_some().then(|| view! { <button class="button small" data-testid="unbind" on:click=unbind.clone()>"Unbind"</button> })}
                        {has_offers.then(|| view! {
                            <label class="inline"><span class="muted small">"Account"</span>
                                <select data-testid="candidate" on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                                    {offered.get_value().into_iter().map(|c| view! {
                                        <option value=c.id.to_string()>{format!("{} (connected by {})", c.account_name, c.owner_name)}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button class="button small primary" data-testid="review" on:click=move |_| reviewing.set(true)>"Review and bind"</button>
                        })}
                        {need.available.then(|| view! {
                            <button class="button small" data-testid="connect-need" on:click=connect.clone()>{format!("Connect a {} account", need.provider_name)}</button>
                        })}
                        {(!need.available).then(|| view! { <span class="badge warn">"Not set up on this server"</span> })}
                        <a class="small" href=INTEGRATIONS>"Integrations"</a>
                    </div>
                }
            })}
            {move || reviewing.get().then(|| {
                let (account, granted) = offered
                    .with_value(|o| o.iter().find(|c| Some(c.id) == chosen.get()).map(|c| (c.account_name.clone(), c.scopes.clone())))
                    .unwrap_or_default();
                // What the token can do beyond what the agent asks: it is
                // sent as it is, so say so.
                let beyond: Vec<String> = granted.into_iter().filter(|g| !scopes.iter().any(|s| s.name == *g)).collect();
                let (agent, author, deployment_name, version) = screen.with_value(|s| (s.agent_name.clone(), s.author_name.clone(), s.deployment_name.clone(), s.version.clone()));
                let bind = bind.clone();
                view! {
                    <div class="consent" role="dialog" aria-label="Consent" data-testid="consent">
                        <h3>{format!("Let {agent} act as {account} at {provider_name}?")}</h3>
                        <p>{format!("{agent} {version}, written by {author}, will call {provider_name}'s API as {account} whenever the deployment {deployment_name} runs this version, with:")}</p>
                        {scopes.is_empty().then(|| view! {
                            <p class="small" data-testid="consent-everything">"It asks for no particular scope: it can do whatever this account's credential can."</p>
                        })}
                        <ul data-testid="consent-scopes">{scopes.iter().map(|scope| view! {
                            <li><code>{scope.name.clone()}</code> " — " {scope.description.clone()}</li>
                        }).collect_view()}</ul>
                        {(!beyond.is_empty()).then(|| view! {
                            <p class="small" data-testid="consent-beyond">{format!(
                                "This account's token was also granted {}: Agentdeck sends the token as it is, so the agent could use those too. Connect an account with fewer scopes to rule that out.",
                                beyond.join(", ")
                            )}</p>
                        })}
                        <p class="muted small">"The token stays with Agentdeck: it is added to calls to the provider's own API only, and never shown to the agent, its logs or its runs. Unbinding stops the agent at its next call."</p>
                        <label class="check"><input type="checkbox" data-testid="agree" prop:checked=move || agreed.get()
                            on:change=move |ev| agreed.set(event_target_checked(&ev)) />"I agree"</label>
                        <div class="row">
                            <button class="button primary" data-testid="bind" disabled=move || !agreed.get() on:click=bind>"Bind"</button>
                            <button class="button" on:click=move |_| { reviewing.set(false); agreed.set(false); }>"Cancel"</button>
                        </div>
                    </div>
                }
            })}
        </div>
    }
}
