//! Getting back in and proving an address: "Forgot your password?" (a
//! reset link by mail), the page that link opens (a new password, every
//! other session ended, signed in here), and the page a verification link
//! opens. The links carry their token after `#`, which browsers send to no
//! server; these pages read it and hand it to the server function.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api::account::{request_password_reset, reset_password, verify_email};
use crate::auth::use_auth;
use crate::components::form::{FieldError, FormError};
use types::account::{EmailVerification, EmailVerified, PasswordReset, PasswordResetRequest};
use types::error::ApiError;

/// The `token` in the address's fragment (`#token=…`).
fn fragment_token() -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| {
        location.hash.with(|hash| {
            hash.trim_start_matches('#')
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .filter(|token| !token.is_empty())
                .map(str::to_owned)
        })
    })
}

/// An error's message without the `field: ` it starts with, capitalised.
fn without_field(error: &ApiError) -> String {
    let message = match &error.field {
        Some(field) => error
            .message
            .strip_prefix(&format!("{field}: "))
            .unwrap_or(&error.message),
        None => &error.message,
    };
    let mut chars = message.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let request = PasswordResetRequest {
                email: address.clone(),
            };
            match request_password_reset(request).await {
                Ok(()) => sent.set(Some(address)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="page auth-page">
            <form class="panel auth-form" on:submit=submit novalidate>
                <h1>"Reset your password"</h1>
                {move || match sent.get() {
                    Some(address) => view! {
                        <p role="status" data-testid="reset-sent">
                            "If an account uses "<strong>{address}</strong>", a link to choose a new password is on its way. It works for one hour."
                        </p>
                        <p class="muted small"><A href="/signin">"Back to sign in"</A></p>
                    }.into_any(),
                    None => view! {
                        <p class="muted">"Enter the address you signed up with and we will mail you a link."</p>
                        <label>"Email"
                            <input type="email" name="email" autocomplete="email" required
                                prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
                        </label>
                        <FieldError error field="email" />
                        <FormError error fields=&["email"] />
                        <button class="button primary" type="submit" disabled=move || busy.get()>
                            {move || if busy.get() { "Sending…" } else { "Send me a link" }}
                        </button>
                        <p class="muted small"><A href="/signin">"Back to sign in"</A></p>
                    }.into_any(),
                }}
            </form>
        </div>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let token = fragment_token();
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = PasswordReset {
            token: token.get_untracked().unwrap_or_default(),
            password: password.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match reset_password(request).await {
                Ok(me) => {
                    auth.me.set(Some(me));
                    navigate("/settings?reset=1", Default::default());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="page auth-page">
            <form class="panel auth-form" on:submit=submit novalidate>
                <h1>"Choose a new password"</h1>
                {move || token.get().is_none().then(|| view! {
                    <div class="panel panel-error form-error" role="alert">
                        "This page needs the link from the reset mail. "<A href="/forgot-password">"Ask for a new link"</A>
                    </div>
                })}
                <p class="muted">"Every device signed in to your account will be signed out."</p>
                <label>"New password"
                    <input type="password" name="password" autocomplete="new-password" required minlength="10"
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                <p class="muted small">"At least 10 characters; a few unrelated words work well."</p>
                <FieldError error field="password" />
                <FieldError error field="token" />
                <FormError error fields=&["password", "token"] />
                {move || error.with(|e| e.as_ref().is_some_and(|e| e.field.as_deref() == Some("token"))).then(|| view! {
                    <p class="muted small"><A href="/forgot-password">"Ask for a new link"</A></p>
                })}
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Saving…" } else { "Set password and sign in" }}
                </button>
            </form>
        </div>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let auth = use_auth();
    let token = fragment_token();
    let outcome = RwSignal::new(None::<Result<EmailVerified, ApiError>>);
    let busy = RwSignal::new(false);
    // A click, not the page load, uses the link: mail scanners that open
    // links (and run their scripts) must not verify an address for anyone.
    // By the time a person clicks, a signed-in browser has its CSRF token.
    let confirm = move |_| {
        let Some(token) = token.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = verify_email(EmailVerification { token }).await;
            if result.is_ok() && auth.me.with_untracked(Option::is_some) {
                auth.load();
            }
            outcome.set(Some(result));
            busy.set(false);
        });
    };
    view! {
        <div class="page auth-page">
            <section class="panel auth-form" data-testid="verify-email">
                <h1>"Email address"</h1>
                {move || match (token.get(), outcome.get()) {
                    (None, _) => view! {
                        <p role="alert">"This page needs the link from the verification mail."</p>
                    }.into_any(),
                    (Some(_), None) => view! {
                        <p>"Confirm that this address is yours."</p>
                        <button class="button primary" on:click=confirm
                            disabled=move || busy.get() || !auth.ready.get() data-testid="confirm-email">
                            "Confirm my address"
                        </button>
                    }.into_any(),
                    (Some(_), Some(Ok(verified))) => view! {
                        <p role="status" data-testid="email-verified">
                            {if verified.changed { "Your account now uses " } else { "Thank you: you verified " }}
                            <strong>{verified.email}</strong>"."
                        </p>
                        <p><A href="/dashboard" attr:class="button primary">"Go to your dashboard"</A></p>
                    }.into_any(),
                    (Some(_), Some(Err(error))) => view! {
                        <div class="panel panel-error form-error" role="alert" data-testid="verify-error">{without_field(&error)}</div>
                        <p class="muted small">"Signed in, you can send a new link from "<A href="/settings">"Settings"</A>"."</p>
                    }.into_any(),
                }}
            </section>
        </div>
    }
}
