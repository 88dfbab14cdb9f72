//! Leptos server functions under `/api/fn/...`, with the service layer in
//! their context.

use app::service::Services;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use leptos::prelude::provide_context;

pub async fn handle(State(services): State<Services>, request: Request) -> impl IntoResponse {
    leptos_axum::handle_server_fns_with_context(move || provide_context(services.clone()), request)
        .await
}
