//! Leptos server functions under `/api/fn/...`, with the service layer and
//! the caller (as the authentication middleware found it) in their context.

use app::service::Services;
use app::service::auth::Caller;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use leptos::prelude::provide_context;

pub async fn handle(State(services): State<Services>, request: Request) -> impl IntoResponse {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(Caller::anonymous);
    leptos_axum::handle_server_fns_with_context(
        move || {
            provide_context(services.clone());
            provide_context(caller.clone());
        },
        request,
    )
    .await
}
