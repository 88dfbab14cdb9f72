//! Leptos server functions under `/api/fn/...`, with the service layer and
//! the caller (as the authentication middleware found it) in their context,
//! answering with the status of the error they return.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use service::Services;
use service::auth::Caller;

pub async fn handle(State(services): State<Services>, request: Request) -> impl IntoResponse {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(Caller::anonymous);
    let (response, status) = types::error::status::scope(async move {
        leptos_axum::handle_server_fns_with_context(
            move || {
                provide_context(services.clone());
                provide_context(caller.clone());
            },
            request,
        )
        .await
        .into_response()
    })
    .await;
    with_status(response, status)
}

/// The status a failing server function chose (Leptos answers every error
/// with 500 otherwise).
fn with_status(mut response: Response, status: Option<u16>) -> Response {
    if let Some(status) = status.and_then(|status| StatusCode::from_u16(status).ok()) {
        *response.status_mut() = status;
    }
    response
}
