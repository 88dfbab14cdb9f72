//! `/oauth/consent?request=<id>`: approving an MCP client (Claude, Cursor,
//! an agent framework) that asked, through `/oauth/authorize`, to call the
//! running deployments of one of the person's workspaces. It names the
//! client (in its own words), where the approval goes, and what it may do;
//! Approve sends the browser back to the client with a code, Deny with an
//! error.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::account::{consent_request, decide_consent};
use crate::auth::{SignedInPage, use_auth};
use crate::components::browser::go_to;
use crate::components::workspace_switcher::WorkspaceSelect;
use types::WorkspaceId;
use types::error::ApiError;
use types::oauth::{ConsentRequest, DecideConsent};

#[component]
pub fn ConsentPage() -> impl IntoView {
    view! {
        <SignedInPage class="consent-page" title="Connect an app" testid="consent-page">
            <Consent />
        </SignedInPage>
    }
}

#[component]
fn Consent() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let id = query.with_untracked(|q| {
        q.get("request")
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
    });
    let request = RwSignal::new(None::<ConsentRequest>);
    let workspace = RwSignal::new(None::<WorkspaceId>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let leaving = RwSignal::new(false);

    // Load once signed in.
    Effect::new(move |loaded: Option<bool>| {
        if loaded == Some(true) {
            return true;
        }
        let ready = auth.ready.get() && auth.me.with(Option::is_some);
        if ready && let Some(id) = id {
            workspace.set(auth.active.get_untracked());
            leptos::task::spawn_local(async move {
                match consent_request(id).await {
                    Ok(found) => request.set(Some(found)),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
        ready
    });
    let decide = move |approve: bool| {
        let Some(id) = id else {
            return;
        };
        error.set(None);
        busy.set(true);
        let decision = DecideConsent {
            id,
            approve,
            workspace: workspace.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match decide_consent(decision).await {
                Ok(decided) => {
                    leaving.set(true);
                    go_to(&decided.redirect);
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        {id.is_none().then(|| view! {
            <p class="field-error" role="alert">"This link names no authorization request; start again from the app."</p>
        })}
        {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message}</p> })}
        {move || leaving.get().then(|| view! { <p role="status" data-testid="consent-leaving">"Going back to the app…"</p> })}
        {move || request.get().map(|found| {
            let pending = found.status == "pending";
            view! {
                <section class="panel" data-testid="consent-request">
                    <h2>"An app asks to use your agents"</h2>
                    <p>
                        "The app calls itself "<strong data-testid="consent-client">"“"{found.client_name.clone()}"”"</strong>
                        " (its own words) and the approval goes to "<code data-testid="consent-redirect">{found.redirect_to.clone()}</code>"."
                    </p>
                    <p>"Once approved, it may:"</p>
                    <ul>{found.grants.iter().map(|grant| view! { <li>{grant.clone()}</li> }).collect_view()}</ul>
                    <p>
                        "Only approve an app you are connecting yourself, just now. The approval is listed in "
                        "Settings → API keys as “MCP: "{found.client_name.clone()}"”, where you can revoke it."
                    </p>
                    {if pending {
                        view! {
                            <div class="stack">
                                <WorkspaceSelect name="consent-workspace" chosen=workspace />
                                <div class="row">
                                    <button class="button primary" data-testid="consent-approve"
                                        disabled=move || busy.get() on:click=move |_| decide(true)>"Approve"</button>
                                    <button class="button" data-testid="consent-deny"
                                        disabled=move || busy.get() on:click=move |_| decide(false)>"Deny"</button>
                                </div>
                            </div>
                        }.into_any()
                    } else {
                        let words = match found.status.as_str() {
                            "expired" => "This request expired: start again from the app.",
                            "denied" => "You denied this request.",
                            _ => "This request was approved already.",
                        };
                        view! { <p role="status" data-testid="consent-outcome">{words}</p> }.into_any()
                    }}
                </section>
            }
        })}
    }
}
