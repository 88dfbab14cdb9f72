//! Every route of the server, in one place.

use axum::Router;
use axum::middleware;
use axum::routing::{any, get, post};
use tower_http::compression::CompressionLayer;

use crate::api::{agents, health, not_found, server_fns};
use crate::live::socket;
use crate::state::AppState;
use crate::{request_id, spa};

pub fn build(state: AppState) -> Router {
    let api_v1 = Router::new()
        .route("/agents", get(agents::list::list_agents))
        .route("/agents/{slug}", get(agents::show::show_agent))
        .method_not_allowed_fallback(not_found::method_not_allowed);

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/ws", get(socket::upgrade))
        .nest("/api/v1", api_v1)
        .route(
            &format!("{}/{{*name}}", app::api::SERVER_FN_PREFIX),
            post(server_fns::handle).get(server_fns::handle),
        )
        .route("/api", any(not_found::api_not_found))
        .route("/api/{*rest}", any(not_found::api_not_found))
        .fallback(spa::serve)
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}
