//! Who is signed in, for the whole SPA: loaded once from `GET /api/v1/me`,
//! updated by sign-in and sign-out, and read by the user menu and by pages
//! that need an account.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use crate::client::call;
use crate::error::ApiError;
use crate::model::account::Me;

#[derive(Clone, Copy)]
pub struct Auth {
    pub me: RwSignal<Option<Me>>,
    /// Whether the first `/me` answered (until then, nobody is redirected).
    pub ready: RwSignal<bool>,
}

impl Auth {
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            ready: RwSignal::new(false),
        }
    }

    pub fn load(self) {
        leptos::task::spawn_local(async move {
            let me = call::<Me>("GET", "/api/v1/me", None::<&()>, None)
                .await
                .ok();
            self.me.set(me);
            self.ready.set(true);
        });
    }

    pub fn csrf(self) -> Option<String> {
        self.me
            .with_untracked(|me| me.as_ref().and_then(|me| me.csrf_token.clone()))
    }

    /// A state-changing call with this session's CSRF token.
    pub async fn send<T: serde::de::DeserializeOwned>(
        self,
        method: &str,
        path: &str,
        body: Option<&(impl serde::Serialize + ?Sized)>,
    ) -> Result<T, ApiError> {
        call(method, path, body, self.csrf()).await
    }

    pub async fn sign_out(self) -> Result<(), ApiError> {
        self.send::<()>("POST", "/api/v1/auth/logout", None::<&()>)
            .await?;
        self.me.set(None);
        Ok(())
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_auth() -> Auth {
    use_context::<Auth>().unwrap_or_default()
}

/// Shows `children` to signed-in users; sends anyone else to sign in, and
/// back here afterwards.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if auth.ready.get() && auth.me.with(Option::is_none) {
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            let target = format!(
                "/signin?return_to={}",
                crate::pages::encode_component(&here)
            );
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || {
        if auth.me.with(Option::is_some) {
            children().into_any()
        } else {
            view! { <div class="panel" data-testid="loading">"Checking your session…"</div> }
                .into_any()
        }
    }
}
