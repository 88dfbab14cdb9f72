//! Who is signed in, for the whole SPA: loaded once from the `current_user` server function,
//! updated by sign-in and sign-out, and read by the user menu and by pages
//! that need an account.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use types::WorkspaceId;
use types::account::{Me, WorkspaceSummary};
use types::error::ApiError;

/// The header state-changing requests carry the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

thread_local! {
    /// The app's `Auth`, for code outside the component tree (the server
    /// function client).
    static INSTALLED: std::cell::Cell<Option<Auth>> = const { std::cell::Cell::new(None) };
}

/// The signed-in session's CSRF token, if any.
pub fn current_csrf_token() -> Option<String> {
    INSTALLED.with(|installed| installed.get()?.csrf())
}

/// Where the chosen workspace is remembered between visits.
const ACTIVE_WORKSPACE_KEY: &str = "agentdeck.workspace";

#[derive(Clone, Copy)]
pub struct Auth {
    pub me: RwSignal<Option<Me>>,
    /// Whether the first `/me` answered (until then, nobody is redirected).
    pub ready: RwSignal<bool>,
    /// The workspace chosen in the top bar: new keys (and later agents and
    /// deployments) go there.
    pub active: RwSignal<Option<WorkspaceId>>,
}

impl Auth {
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            ready: RwSignal::new(false),
            active: RwSignal::new(None),
        }
    }

    /// Makes this the `Auth` that `current_csrf_token` reads.
    pub fn install(self) {
        INSTALLED.with(|installed| installed.set(Some(self)));
    }

    /// Asks the server who is signed in (again, after membership changes).
    pub fn load(self) {
        leptos::task::spawn_local(async move {
            let me = crate::api::account::current_user().await.ok();
            let remembered = self.active.get_untracked().or_else(|| {
                stored(ACTIVE_WORKSPACE_KEY)
                    .and_then(|id| id.parse::<uuid::Uuid>().ok().map(WorkspaceId))
            });
            let active = me.as_ref().and_then(|me| {
                me.workspaces
                    .iter()
                    .find(|w| Some(w.id) == remembered)
                    .or_else(|| me.workspaces.iter().find(|w| w.personal))
                    .map(|w| w.id)
            });
            self.me.set(me);
            self.active.set(active);
            self.ready.set(true);
        });
    }

    /// Makes `workspace` the active one, here and on the next visit.
    pub fn switch_to(self, workspace: WorkspaceId) {
        self.active.set(Some(workspace));
        store(ACTIVE_WORKSPACE_KEY, &workspace.to_string());
    }

    /// The active workspace, as `/me` describes it.
    pub fn active_workspace(self) -> Option<WorkspaceSummary> {
        let active = self.active.get()?;
        self.me.with(|me| {
            me.as_ref()?
                .workspaces
                .iter()
                .find(|w| w.id == active)
                .cloned()
        })
    }

    pub fn csrf(self) -> Option<String> {
        self.me
            .with_untracked(|me| me.as_ref().and_then(|me| me.csrf_token.clone()))
    }

    pub async fn sign_out(self) -> Result<(), ApiError> {
        crate::api::account::sign_out().await?;
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

/// A page only signed-in users see: its frame (`class` names its layout),
/// a heading, and `children`, behind `RequireAuth`.
#[component]
pub fn SignedInPage(
    class: &'static str,
    title: &'static str,
    #[prop(optional)] testid: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let testid = (!testid.is_empty()).then_some(testid);
    view! {
        <RequireAuth>
            <div class=format!("page {class}") data-testid=testid>
                <h1>{title}</h1>
                {children()}
            </div>
        </RequireAuth>
    }
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

#[cfg(feature = "csr")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(feature = "csr")]
fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

#[cfg(feature = "csr")]
fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        // A browser refusing storage (private mode) only forgets the choice.
        let _ = storage.set_item(key, value);
    }
}

#[cfg(not(feature = "csr"))]
fn stored(_key: &str) -> Option<String> {
    None
}

#[cfg(not(feature = "csr"))]
fn store(_key: &str, _value: &str) {}
