//! Sign in and sign up: email and password with errors next to the field at
//! fault, "Continue with GitHub" when the server offers it, and a way back
//! to where the visitor was going.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::account::{sign_in, sign_up};
use crate::auth::{Auth, use_auth};
use crate::components::form::{FieldError, FormError};
use crate::pages::encode_component;
use crate::remote::Remote;
use types::account::{LoginRequest, Me, SignupRequest};
use types::error::ApiError;

/// What a GitHub failure code means, in words.
fn github_error(code: &str) -> &'static str {
    match code {
        "github_denied" => "GitHub sign-in was cancelled. You can try again or use your email.",
        "github_state_mismatch" | "github_flow_missing" => {
            "That GitHub sign-in could not be verified or has expired. Please start again."
        }
        "github_email_unverified" => {
            "Your GitHub account has no verified primary email. Verify it on GitHub, then try again."
        }
        "github_account_unverified" => {
            "GitHub was not linked: the Agentdeck account with this email address has not \
             verified it. If it is yours, verify the address (the link in our mail, or a new one \
             from Settings) and link GitHub from Settings. If it is not yours, reset its \
             password: the link goes to your inbox, and using it makes the account yours."
        }
        "github_already_linked" => {
            "That GitHub account is already linked to another Agentdeck account."
        }
        "github_disabled" => "Sign-in with GitHub is not enabled on this server.",
        _ => "Sign-in with GitHub did not work. Please try again.",
    }
}

/// `return_to` if it is a path of this site, else the marketplace.
fn return_target(requested: Option<String>) -> String {
    requested
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".to_owned())
}

#[component]
fn GithubButton(return_to: Memo<String>) -> impl IntoView {
    let providers = Remote::new(crate::api::account::sign_in_providers);
    move || {
        providers.get().and_then(Result::ok).filter(|p| p.github).map(|_| {
            let href = format!("/auth/github/start?return_to={}", encode_component(&return_to.get()));
            view! {
                <a class="button github" href=href rel="external" data-testid="github-signin">"Continue with GitHub"</a>
                <p class="divider"><span>"or"</span></p>
            }
        })
    }
}

/// Signing in or up, once the form is sent: the server function (the server
/// sets the session cookie), then on to `return_to`, or the refusal shown.
struct Entered<N> {
    auth: Auth,
    busy: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    return_to: Memo<String>,
    navigate: N,
}

impl Entered<()> {
    /// For the page's form: where to go afterwards is the `return_to` of
    /// the page's address.
    fn new() -> Entered<impl Fn(&str, NavigateOptions) + Clone + 'static> {
        let query = use_query_map();
        Entered {
            auth: use_auth(),
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            return_to: Memo::new(move |_| return_target(query.read().get("return_to"))),
            navigate: use_navigate(),
        }
    }
}

impl<N: Fn(&str, NavigateOptions) + Clone + 'static> Entered<N> {
    /// The form's submit handler: makes the call from what the form holds.
    fn on_submit<F>(
        self,
        call: impl Fn() -> F + 'static,
    ) -> impl Fn(leptos::ev::SubmitEvent) + 'static
    where
        F: std::future::Future<Output = Result<Me, ApiError>> + 'static,
    {
        move |ev| {
            ev.prevent_default();
            self.send(call());
        }
    }

    fn send(&self, call: impl std::future::Future<Output = Result<Me, ApiError>> + 'static) {
        let (auth, busy, error, return_to) = (self.auth, self.busy, self.error, self.return_to);
        let navigate = self.navigate.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match call.await {
                Ok(me) => {
                    auth.me.set(Some(me));
                    navigate(&return_to.get_untracked(), NavigateOptions::default());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    }
}

/// The sign-in and sign-up pages' frame: a form under a heading.
#[component]
fn AuthForm<F: Fn(leptos::ev::SubmitEvent) + 'static>(
    title: &'static str,
    submit: F,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="page auth-page">
            <form class="panel auth-form" on:submit=submit novalidate>
                <h1>{title}</h1>
                {children()}
            </form>
        </div>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let entered = Entered::new();
    let (busy, error, return_to) = (entered.busy, entered.error, entered.return_to);
    let query = use_query_map();
    let provider_error = move || query.read().get("error").map(|code| github_error(&code));
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = entered.on_submit(move || {
        sign_in(LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        })
    });

    view! {
        <AuthForm title="Sign in" submit>
            {move || provider_error().map(|message| view! {
                <div class="panel panel-error form-error" role="alert" data-testid="provider-error">{message}</div>
            })}
            <GithubButton return_to />
            <label>"Email"
                <input type="email" name="email" autocomplete="email" required
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            <label>"Password"
                <input type="password" name="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <FormError error fields=&[] />
            <button class="button primary" type="submit" disabled=move || busy.get()>
                {move || if busy.get() { "Signing in…" } else { "Sign in" }}
            </button>
            <p class="muted small"><A href="/forgot-password">"Forgot your password?"</A></p>
            <p class="muted small">"New here? "
                <A href=move || format!("/signup?return_to={}", encode_component(&return_to.get()))>"Create an account"</A>
            </p>
        </AuthForm>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let entered = Entered::new();
    let (busy, error, return_to) = (entered.busy, entered.error, entered.return_to);
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = entered.on_submit(move || {
        sign_up(SignupRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            name: name.get_untracked(),
        })
    });

    view! {
        <AuthForm title="Create your account" submit>
            <GithubButton return_to />
            <label>"Name"
                <input type="text" name="name" autocomplete="name" required maxlength="80"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <FieldError error field="name" />
            <label>"Email"
                <input type="email" name="email" autocomplete="email" required
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            <FieldError error field="email" />
            <label>"Password"
                <input type="password" name="password" autocomplete="new-password" required minlength="10"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <p class="muted small">"At least 10 characters; a few unrelated words work well."</p>
            <FieldError error field="password" />
            <FormError error fields=&["name", "email", "password"] />
            <button class="button primary" type="submit" disabled=move || busy.get()>
                {move || if busy.get() { "Creating…" } else { "Create account" }}
            </button>
            <p class="muted small">"Already have an account? "
                <A href=move || format!("/signin?return_to={}", encode_component(&return_to.get()))>"Sign in"</A>
            </p>
        </AuthForm>
    }
}
