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

#[derive(Deserialize)]
pub struct StartParams {
    return_to: Option<String>,
    #[serde(default)]
    link: bool,
}

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

/// `GET /api/v1/auth/providers`: which sign-in methods are on.
pub async fn providers(State(state): State<AppState>) -> Json<Providers> {
    Json(accounts::providers(&state.services))
}
