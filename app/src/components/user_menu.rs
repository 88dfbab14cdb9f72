//! The top bar's account corner: "Sign in" for visitors; for members, their
//! name with a menu of credits, settings, keys and sign-out.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::auth::use_auth;

#[component]
pub fn UserMenu() -> impl IntoView {
    let auth = use_auth();
    let open = RwSignal::new(false);
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        open.set(false);
        leptos::task::spawn_local(async move {
            if auth.sign_out().await.is_ok() {
                navigate("/", NavigateOptions::default());
            }
        });
    };
    move || match auth.me.get() {
        None => view! {
            <A href="/signin" attr:class="button small" attr:data-testid="signin-link">"Sign in"</A>
        }
        .into_any(),
        Some(me) => {
            let initial = me
                .user
                .display_name
                .chars()
                .next()
                .unwrap_or('?')
                .to_uppercase()
                .to_string();
            let sign_out = sign_out.clone();
            view! {
                <div class="user-menu" data-testid="user-menu">
                    <button class="user-button" aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                        on:click=move |_| open.update(|o| *o = !*o)>
                        <span class="avatar" aria-hidden="true">{initial}</span>
                        <span class="user-name">{me.user.display_name.clone()}</span>
                    </button>
                    <div class="menu" role="menu" hidden=move || !open.get()>
                        <A href="/settings" on:click=move |_| open.set(false)>"Settings"</A>
                        <A href="/wallet" on:click=move |_| open.set(false) attr:data-testid="wallet-link">"Credits"</A>
                        <A href="/settings/keys" on:click=move |_| open.set(false)>"API keys"</A>
                        <A href="/integrations" on:click=move |_| open.set(false) attr:data-testid="integrations-link">"Integrations"</A>
                        <A href="/teams" on:click=move |_| open.set(false)>"Teams"</A>
                        <button role="menuitem" on:click=sign_out.clone() data-testid="sign-out">"Sign out"</button>
                    </div>
                </div>
            }
            .into_any()
        }
    }
}
