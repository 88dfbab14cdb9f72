//! Leptos server functions under `/api/fn/...`, with the service layer and
//! the caller (as the authentication middleware found it) in their context,
//! answering with the status of the error they return. Their bodies are
//! limited as REST bodies are (Leptos would read any length). Signing in,
//! up and out pass the browser's door (`service::auth::door`), whose
//! outcome becomes the session cookie and, when a limit refused, a
//! `Retry-After`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use service::ServiceError;
use service::auth::Caller;

use crate::state::AppState;

/// The longest body a server function reads: axum's default for REST.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    // Changes are JSON, as REST bodies are: a cross-site form (which can
    // send `text/plain` without a preflight) never reaches a function.
    let json = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if request.method() != axum::http::Method::GET && !json {
        let error = ServiceError::invalid("body", "send JSON with Content-Type: application/json");
        return refused(&error);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        let limit = MAX_BODY_BYTES / (1024 * 1024);
        return refused(&ServiceError::invalid(
            "body",
            format!("must be at most {limit} MiB"),
        ));
    };
    if let Some(refused) = crate::api::nul::in_arguments(&bytes) {
        return refused.into_server_fn_response();
    }
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(Caller::anonymous);
    let door = crate::api::auth::door(&state, request.headers());
    let services = state.services.clone();
    let in_context = door.clone();
    let (response, status) = types::error::status::scope(async move {
        leptos_axum::handle_server_fns_with_context(
            move || {
                provide_context(services.clone());
                provide_context(caller.clone());
                provide_context(in_context.clone());
            },
            request,
        )
        .await
        .into_response()
    })
    .await;
    let mut response = crate::api::auth::with_cookie(&state, &door, with_status(response, status));
    if let Some(wait) = door.outcome().retry_after {
        // Whole seconds, rounded up, as the REST API's 429 says it.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.max(1).to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
    }
    response
}

/// A call refused before any function ran, answered as a server
/// function's error is: the bare `ApiError`.
fn refused(error: &ServiceError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    (status, axum::Json(error.to_api_error())).into_response()
}

/// The status a server function chose (Leptos answers every error with 500
/// otherwise), and never kept by a cache: the answers are the caller's own
/// (`current_user` carries the session's CSRF token).
fn with_status(mut response: Response, status: Option<u16>) -> Response {
    if let Some(status) = status.and_then(|status| StatusCode::from_u16(status).ok()) {
        *response.status_mut() = status;
    }
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
