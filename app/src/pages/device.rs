//! `/device`: approving a device sign-in (`agentdeck login`). The person
//! types the code their terminal shows (or follows its link, which fills
//! it in), sees what the device calls itself, where it asked from and the
//! scopes it wants, picks the workspace and scopes, and approves or denies.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::account::{decide_device, device_request};
use crate::auth::{SignedInPage, use_auth};
use crate::components::scopes::ScopeChecklist;
use crate::components::workspace_switcher::WorkspaceSelect;
use types::WorkspaceId;
use types::account::{DecideDevice, DeviceRequest, Scope};
use types::error::ApiError;

use super::time::minute as when;

#[component]
pub fn DevicePage() -> impl IntoView {
    view! {
        <SignedInPage class="device-page" title="Sign in a device" testid="device-page">
            <DeviceApproval />
        </SignedInPage>
    }
}

#[component]
fn DeviceApproval() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let code = RwSignal::new(query.with_untracked(|q| q.get("code").unwrap_or_default()));
    let request = RwSignal::new(None::<DeviceRequest>);
    let chosen = RwSignal::new(Vec::<Scope>::new());
    let workspace = RwSignal::new(None::<WorkspaceId>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    // A link fills the code in; the person still says it is the one their
    // terminal shows before Approve works (RFC 8628 § 5.4).
    let confirmed = RwSignal::new(false);

    let look_up = move || {
        error.set(None);
        busy.set(true);
        let typed = code.get_untracked();
        leptos::task::spawn_local(async move {
            match device_request(typed).await {
                Ok(found) => {
                    // Managing keys is asked for, never given unasked: it
                    // starts unticked.
                    let mut scopes = found.scopes.clone();
                    scopes.retain(|scope| *scope != Scope::KeysWrite);
                    chosen.set(scopes);
                    confirmed.set(false);
                    workspace.set(auth.active.get_untracked());
                    request.set(Some(found));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    // A link from the terminal fills the code in: look it up at once.
    if !code.get_untracked().is_empty() {
        Effect::new(move |looked: Option<bool>| {
            if looked == Some(true) {
                return true;
            }
            let signed_in = auth.ready.get() && auth.me.with(Option::is_some);
            if signed_in {
                look_up();
            }
            signed_in
        });
    }
    let decide = move |approve: bool| {
        let Some(found) = request.get_untracked() else {
            return;
        };
        error.set(None);
        busy.set(true);
        let decision = DecideDevice {
            user_code: found.user_code,
            approve,
            workspace: workspace.get_untracked(),
            scopes: chosen.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match decide_device(decision).await {
                Ok(decided) => request.set(Some(decided)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    view! {
            <section class="panel">
                <form class="stack" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); look_up(); }>
                    <label>"The code your terminal shows"
                        <input type="text" name="user-code" required maxlength="12" autocomplete="off"
                            placeholder="BCDF-GHJK" spellcheck="false" class="code-input"
                            prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                    </label>
                    <button class="button" type="submit" disabled=move || busy.get()>"Continue"</button>
                </form>
            </section>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message}</p> })}
            {move || request.get().map(|found| {
                let pending = found.status == "pending";
                let asked = found.scopes.clone();
                view! {
                    <section class="panel" data-testid="device-request">
                        <h2>"A device asks to act as you"</h2>
                        <p>
                            "The device calls itself "<strong data-testid="device-name">"“"{found.client_name.clone()}"”"</strong>
                            " and asked from "<code>{found.requested_from.clone()}</code>" at "{when(found.created_at)}"."
                        </p>
                        {(!found.from_your_address).then(|| view! {
                            <p class="panel-notice" role="alert" data-testid="device-elsewhere">
                                "This sign-in was started from another address than this browser's. "
                                "If you did not just run "<code>"agentdeck login"</code>" yourself, deny it: "
                                "someone may be trying to get a key to your account."
                            </p>
                        })}
                        <p>
                            "Only approve a code you started yourself, in your own terminal, just now. "
                            "Approving makes an API key (valid 90 days, revocable in Settings → API keys) that the device keeps."
                        </p>
                        <p>"Code: "<code data-testid="device-code">{found.user_code.clone()}</code></p>
                        {if pending {
                            view! {
                                <div class="stack">
                                    <WorkspaceSelect name="device-workspace" chosen=workspace />
    <ScopeChecklist
                                        legend="Scopes (tick only what it needs; keys:write lets it make and revoke keys)"
                                        name="device-scope" scopes=asked.clone() chosen=chosen />
                                    <label class="check">
                                        <input type="checkbox" name="device-confirm" data-testid="device-confirm"
                                            prop:checked=move || confirmed.get()
                                            on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                                        {format!("My terminal shows {} and I started this sign-in", found.user_code)}
                                    </label>
                                    <div class="row">
                                        <button class="button primary" data-testid="device-approve"
                                            disabled=move || busy.get() || !confirmed.get() on:click=move |_| decide(true)>"Approve"</button>
                                        <button class="button" data-testid="device-deny"
                                            disabled=move || busy.get() on:click=move |_| decide(false)>"Deny"</button>
                                    </div>
                                </div>
                            }.into_any()
                        } else {
                            let words = match found.status.as_str() {
                                "approved" | "used" => "Approved: you can close this page and go back to your terminal.",
                                _ => "Denied: the device was not signed in.",
                            };
                            view! { <p role="status" data-testid="device-outcome">{words}</p> }.into_any()
                        }}
                    </section>
                }
            })}
        }
}
