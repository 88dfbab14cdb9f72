//! Every route of the server, in one place.

use axum::Router;
use axum::middleware;
use axum::routing::{MethodFilter, any, delete, get, on, patch, post, put};
use tower_http::compression::CompressionLayer;

use crate::api::{
    admin, agents, auth, authoring, billing, deployments, github, health, not_found, runs,
    server_fns, teams, webhooks,
};
use crate::live::socket;
use crate::state::AppState;
use crate::{request_id, spa};

/// The authentication middleware for everything under `/api`.
fn authenticated(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::auth::authenticate,
    ))
}

pub fn build(state: AppState) -> Router {
    let api_v1 = Router::new()
        .route(
            "/agents",
            get(agents::list::list_agents).post(agents::create::create_agent),
        )
        .route(
            "/agents/{slug}",
            get(agents::show::show_agent)
                .patch(agents::update::update_agent)
                .delete(agents::update::delete_agent),
        )
        .route(
            "/agents/{slug}/draft",
            get(agents::draft::show_draft).put(agents::draft::save_draft),
        )
        .route(
            "/agents/{slug}/test-runs",
            post(agents::test_run::create_test_run),
        )
        .route(
            "/agents/{slug}/versions",
            get(agents::versions::list_versions).post(agents::versions::publish_version),
        )
        .route(
            "/agents/{slug}/versions/{version}",
            get(agents::versions::show_version),
        )
        .route(
            "/agents/{slug}/reviews",
            get(agents::reviews::list_reviews).post(agents::reviews::write_review),
        )
        .route(
            "/agents/{slug}/reviews/mine",
            delete(agents::reviews::delete_my_review),
        )
        .route(
            "/agents/{slug}/reviews/{id}/reply",
            post(agents::reviews::reply_to_review),
        )
        .route("/agents/{slug}/try", post(agents::test_run::try_agent))
        .route("/templates", get(authoring::list_templates))
        .route("/me/agents", get(authoring::list_own_agents))
        .route("/creators/{handle}", get(authoring::show_creator))
        .route("/markdown", post(authoring::render_markdown))
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/providers", get(github::providers))
        .route(
            "/auth/password-reset",
            post(auth::recovery::request_password_reset),
        )
        .route(
            "/auth/password-reset/complete",
            post(auth::recovery::reset_password),
        )
        .route("/auth/verify-email", post(auth::recovery::verify_email))
        .route(
            "/me/email/verification",
            post(auth::recovery::resend_verification),
        )
        .route("/me/email", post(auth::recovery::change_email))
        .route("/me/password", post(auth::recovery::change_password))
        .route("/me", get(auth::me))
        .route("/sessions", get(auth::list_sessions))
        .route("/sessions/revoke-others", post(auth::revoke_other_sessions))
        .route("/api-keys", get(auth::list_keys).post(auth::create_key))
        .route("/api-keys/{id}", delete(auth::revoke_key))
        .route("/api-keys/{id}/spend-cap", put(auth::change_key_spend_cap))
        .route("/teams", get(teams::list).post(teams::create))
        .route("/teams/{slug}", get(teams::show))
        .route(
            "/teams/{slug}/invites",
            get(teams::invites).post(teams::invite),
        )
        .route("/teams/{slug}/invites/{id}", delete(teams::revoke_invite))
        .route(
            "/teams/{slug}/members/{user}",
            patch(teams::change_role).delete(teams::remove_member),
        )
        .route("/teams/{slug}/leave", post(teams::leave))
        .route("/teams/{slug}/audit", get(teams::audit))
        .route("/audit", get(teams::workspace_audit))
        .route("/invites/{token}/accept", post(teams::accept_invite))
        .route(
            "/deployments",
            get(deployments::list::list_deployments).post(deployments::create::create_deployment),
        )
        .route(
            "/deployments/{id}",
            get(deployments::show::show_deployment).delete(deployments::act::delete_deployment),
        )
        .route(
            "/deployments/{id}/runs",
            get(runs::list::list_runs).post(runs::start::start_run),
        )
        .route(
            "/deployments/{id}/secrets",
            put(deployments::act::change_secrets),
        )
        .route(
            "/deployments/{id}/config",
            put(deployments::act::change_config),
        )
        .route(
            "/deployments/{id}/spend-cap",
            put(deployments::act::change_spend_cap),
        )
        .route(
            "/deployments/{id}/metrics",
            get(runs::metrics::show_metrics),
        )
        .route("/runs", get(runs::recent::recent_runs))
        .route("/runs/{id}", get(runs::show::show_run))
        .route("/runs/{id}/cancel", post(runs::cancel::cancel_run))
        .route(
            "/deployments/{id}/redeploy",
            post(deployments::act::redeploy_deployment),
        )
        .route(
            "/deployments/{id}/{action}",
            post(deployments::act::act_on_deployment),
        )
        .route("/wallet", get(billing::wallet::show_wallet))
        .route("/pricing", get(billing::wallet::show_pricing))
        .route("/billing/checkout", post(billing::checkout::start_checkout))
        .route(
            "/billing/checkouts/{id}",
            get(billing::checkout::show_checkout),
        )
        .route("/admin/credits", post(admin::credits::grant_credits))
        .route("/ledger", get(billing::ledger::list_ledger))
        .route("/ledger.csv", get(billing::usage::export_ledger))
        .route("/billing/usage", get(billing::usage::show_usage))
        .route("/admin/jobs", get(admin::jobs::show_jobs))
        .route("/admin/outbox", get(admin::outbox::show_outbox))
        .route("/admin/jobs/{id}", delete(admin::jobs::discard_job))
        .route("/admin/jobs/{id}/retry", post(admin::jobs::retry_job))
        .method_not_allowed_fallback(not_found::method_not_allowed);
    let api = Router::new()
        .nest("/api/v1", api_v1)
        .merge(server_fn_routes())
        .route("/api", any(not_found::api_not_found))
        .route("/api/{*rest}", any(not_found::api_not_found))
        .route("/auth/github/start", get(github::start))
        .route("/auth/github/callback", get(github::callback))
        // Authenticated like the API: topics are authorised per caller.
        .route("/ws", get(socket::upgrade));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // Pages that can be shared and found (share.rs): read as anyone,
        // within the API's per-address budget.
        .merge(
            Router::new()
                .route("/robots.txt", get(crate::share::robots))
                .route("/sitemap.xml", get(crate::share::sitemap))
                .route("/agents/{slug}/card.png", get(crate::share::card))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::share::limited,
                )),
        )
        // Signed by the payment provider, not a session or key.
        .route("/webhooks/stripe", post(webhooks::stripe))
        .merge(authenticated(&state, api))
        .fallback(spa::serve)
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::headers::secure,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::client_addr::resolve,
        ))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// One route per registered server function, so an unknown name is the
/// usual JSON 404 and a wrong method the usual JSON 405.
fn server_fn_routes() -> Router<AppState> {
    let mut router = Router::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        match MethodFilter::try_from(method.clone()) {
            Ok(filter) => router = router.route(path, on(filter, server_fns::handle)),
            Err(_) => tracing::error!(path, %method, "server function with an unroutable method"),
        }
    }
    router.method_not_allowed_fallback(not_found::method_not_allowed)
}
