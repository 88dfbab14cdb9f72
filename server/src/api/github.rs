//! `GET /auth/github/start` and `GET /auth/github/callback`: browser
//! navigations, so they answer with redirects. Failures go to the sign-in
//! page with an error code it explains; no failure leaves a session.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use service::auth::accounts;
use service::auth::github::{self, Callback, Finished};
use types::account::Providers;
use types::error::ErrorEnvelope;

use crate::auth::CallerOf;
use crate::error::AppError;
use crate::state::AppState;

fn redirect(to: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response();
    for cookie in cookies {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    response
}

fn failed(state: &AppState, failure: github::Failure) -> Response {
    redirect(
        &format!("/signin?error={}", failure.code()),
        &[state.cookies.flow_cleared()],
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartParams {
    /// The path of this site to return to afterwards (`/` unless given).
    return_to: Option<String>,
    /// Link GitHub to the signed-in account instead of signing in.
    #[serde(default)]
    link: bool,
}

/// Start signing in with GitHub
///
/// A browser navigation: sends the browser to GitHub to authorize this site,
/// or, with `link`, to link GitHub to the signed-in account. A failure goes
/// to the sign-in page with an error code (`/signin?error=github_…`).
#[utoipa::path(
    get,
    path = "/auth/github/start",
    tag = "auth",
    operation_id = "github_start",
    params(StartParams),
    responses(
        (status = 303, description = "To GitHub's authorization page, or to the sign-in page \
            with an error code",
            headers(
                ("Location" = String, description = "Where the browser goes next"),
                ("Set-Cookie" = String, description = "The flow's cookie (cleared on failure)"),
            )),
        (status = 400, description = "The query string cannot be read (`link` not a \
            boolean)", body = String, content_type = "text/plain"),
        (status = 401, description = "The API key is unknown, revoked or expired",
            body = ErrorEnvelope),
        (status = 403, description = "Called with an API key: signing in is for browsers",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn start(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    Query(params): Query<StartParams>,
) -> Response {
    if let Err(refused) = caller.actor.require_browser() {
        return AppError::from(refused).into_response();
    }
    match github::start(
        &state.services,
        &caller.actor,
        params.return_to.as_deref(),
        params.link,
    )
    .await
    {
        Ok(started) => redirect(
            &started.authorize_url,
            &[state.cookies.flow(&started.browser_token)],
        ),
        Err(failure) => failed(&state, failure),
    }
}

/// Finish signing in with GitHub
///
/// Where GitHub sends the browser back: signs it in (or links the account)
/// and goes on to where the flow started; a failure goes to the sign-in page
/// with an error code (`/signin?error=github_…`). No failure leaves a session.
#[utoipa::path(
    get,
    path = "/auth/github/callback",
    tag = "auth",
    operation_id = "github_callback",
    params(
        ("code" = Option<String>, Query, description = "GitHub's authorization code"),
        ("state" = Option<String>, Query, description = "The flow's `state`, as sent"),
        ("error" = Option<String>, Query, description = "GitHub's error, e.g. `access_denied`"),
    ),
    responses(
        (status = 303, description = "On to the page the flow started from, signed in, or to \
            the sign-in page with an error code",
            headers(
                ("Location" = String, description = "Where the browser goes next"),
                ("Set-Cookie" = String, description = "The flow's cookie cleared, and the new \
                    session's cookie when signed in"),
            )),
        (status = 400, description = "The query string cannot be read", body = String,
            content_type = "text/plain"),
        (status = 401, description = "The API key is unknown, revoked or expired",
            body = ErrorEnvelope),
        (status = 403, description = "Called with an API key: signing in is for browsers",
            body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn callback(
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Query(params): Query<Callback>,
) -> Response {
    if let Err(refused) = caller.actor.require_browser() {
        return AppError::from(refused).into_response();
    }
    let flow = state.cookies.flow_token(&headers);
    match github::finish(&state.services, flow, params, &caller.meta).await {
        Ok(Finished::SignedIn { session, return_to }) => redirect(
            &return_to,
            &[
                state.cookies.flow_cleared(),
                state
                    .cookies
                    .session(&session.token, state.services.sessions.absolute),
            ],
        ),
        Ok(Finished::Linked { return_to }) => redirect(&return_to, &[state.cookies.flow_cleared()]),
        Err(failure) => failed(&state, failure),
    }
}

/// List sign-in methods
///
/// Which ways of signing in are on: passwords always, GitHub when this
/// server is configured for it.
#[utoipa::path(
    get,
    path = "/auth/providers",
    tag = "auth",
    operation_id = "list_sign_in_providers",
    responses((status = 200, description = "The sign-in methods", body = Providers)),
    security(())
)]
pub async fn providers(State(state): State<AppState>) -> Json<Providers> {
    Json(accounts::providers(&state.services))
}
