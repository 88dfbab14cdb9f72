//! Every route of the server, in one place.

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{
    admin, agents, auth, authoring, billing, connections, deployments, embeds, github, health,
    hooks, not_found, oauth, runs, schedules, teams, webhook_endpoints, webhooks,
};
use crate::live::handshake;
use crate::state::AppState;
use crate::{openapi, request_id, spa};

/// The authentication middleware for everything under `/api`.
fn authenticated(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    router.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::auth::authenticate,
    ))
}

pub fn build(state: AppState) -> Router {
    let api_v1 = OpenApiRouter::new()
        .routes(routes!(
            agents::list::list_agents,
            agents::create::create_agent
        ))
        .routes(routes!(
            agents::show::show_agent,
            agents::update::update_agent,
            agents::update::delete_agent
        ))
        .routes(routes!(
            agents::draft::show_draft,
            agents::draft::save_draft
        ))
        .routes(routes!(agents::test_run::create_test_run))
        .routes(routes!(
            agents::versions::list_versions,
            agents::versions::publish_version
        ))
        .routes(routes!(agents::versions::show_version))
        .routes(routes!(
            agents::reviews::list_reviews,
            agents::reviews::write_review
        ))
        .routes(routes!(agents::reviews::delete_my_review))
        .routes(routes!(agents::reviews::reply_to_review))
        .routes(routes!(agents::test_run::try_agent))
        .routes(routes!(authoring::list_templates))
        .routes(routes!(authoring::list_own_agents))
        .routes(routes!(authoring::show_creator))
        .routes(routes!(authoring::render_markdown))
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(github::providers))
        .routes(routes!(connections::list_providers))
        .routes(routes!(
            connections::list_connections,
            connections::create_connection
        ))
        .routes(routes!(connections::authorize_connection))
        .routes(routes!(
            connections::show_connection,
            connections::delete_connection
        ))
        .routes(routes!(connections::list_deployment_connections))
        .routes(routes!(
            connections::bind_deployment_connection,
            connections::unbind_deployment_connection
        ))
        .routes(routes!(auth::recovery::request_password_reset))
        .routes(routes!(auth::recovery::reset_password))
        .routes(routes!(auth::recovery::verify_email))
        .routes(routes!(auth::recovery::resend_verification))
        .routes(routes!(auth::recovery::change_email))
        .routes(routes!(auth::recovery::change_password))
        .routes(routes!(auth::me))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_other_sessions))
        .routes(routes!(auth::list_keys, auth::create_key))
        .routes(routes!(auth::revoke_key))
        .routes(routes!(auth::change_key_spend_cap))
        .routes(routes!(auth::device::start_device_sign_in))
        .routes(routes!(auth::device::poll_device_sign_in))
        .routes(routes!(teams::list, teams::create))
        .routes(routes!(teams::show))
        .routes(routes!(teams::invites, teams::invite))
        .routes(routes!(teams::revoke_invite))
        .routes(routes!(teams::change_role, teams::remove_member))
        .routes(routes!(teams::leave))
        .routes(routes!(teams::audit))
        .routes(routes!(teams::workspace_audit))
        .routes(routes!(teams::accept_invite))
        .routes(routes!(
            deployments::list::list_deployments,
            deployments::create::create_deployment
        ))
        .routes(routes!(
            deployments::show::show_deployment,
            deployments::act::delete_deployment
        ))
        .routes(routes!(runs::list::list_runs, runs::start::start_run))
        .routes(routes!(deployments::act::change_secrets))
        .routes(routes!(deployments::act::change_config))
        .routes(routes!(deployments::act::change_spend_cap))
        .routes(routes!(runs::metrics::show_metrics))
        .routes(routes!(runs::recent::recent_runs))
        .routes(routes!(runs::show::show_run))
        .routes(routes!(runs::cancel::cancel_run))
        .routes(routes!(
            schedules::list_schedules,
            schedules::create_schedule
        ))
        .routes(routes!(
            schedules::change_schedule,
            schedules::delete_schedule
        ))
        .routes(routes!(schedules::preview_schedule))
        .routes(routes!(hooks::list_hooks, hooks::create_hook))
        .routes(routes!(hooks::change_hook, hooks::delete_hook))
        .routes(routes!(hooks::rotate_hook))
        .routes(routes!(embeds::list_embeds, embeds::create_embed))
        .routes(routes!(
            embeds::show_embed,
            embeds::change_embed,
            embeds::delete_embed
        ))
        .routes(routes!(embeds::rotate_embed_secret))
        .routes(routes!(embeds::show_embed_stats))
        .routes(routes!(
            webhook_endpoints::list_webhook_endpoints,
            webhook_endpoints::create_webhook_endpoint
        ))
        .routes(routes!(
            webhook_endpoints::show_webhook_endpoint,
            webhook_endpoints::change_webhook_endpoint,
            webhook_endpoints::delete_webhook_endpoint
        ))
        .routes(routes!(webhook_endpoints::rotate_webhook_secret))
        .routes(routes!(webhook_endpoints::test_webhook_endpoint))
        .routes(routes!(webhook_endpoints::list_webhook_deliveries))
        .routes(routes!(webhook_endpoints::redeliver_failed))
        .routes(routes!(webhook_endpoints::redeliver_webhook))
        .routes(routes!(deployments::act::redeploy_deployment))
        .routes(routes!(deployments::act::act_on_deployment))
        .routes(routes!(billing::wallet::show_wallet))
        .routes(routes!(billing::wallet::show_pricing))
        .routes(routes!(billing::checkout::start_checkout))
        .routes(routes!(billing::checkout::show_checkout))
        .routes(routes!(admin::credits::grant_credits))
        .routes(routes!(billing::ledger::list_ledger))
        .routes(routes!(billing::usage::export_ledger))
        .routes(routes!(billing::usage::show_usage))
        .routes(routes!(admin::jobs::show_jobs))
        .routes(routes!(admin::outbox::show_outbox))
        .routes(routes!(admin::jobs::discard_job))
        .routes(routes!(admin::jobs::retry_job));
    let api = OpenApiRouter::new()
        .nest("/api/v1", api_v1)
        .routes(routes!(github::start))
        .routes(routes!(github::callback))
        .routes(routes!(connections::connect_callback))
        // Authenticated like the API: topics are authorised per caller.
        .routes(routes!(handshake::upgrade));
    let api = openapi::exempt(openapi::server_functions(api));

    let public = OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(crate::docs::api_reference))
        // Pages that can be shared and found (share.rs): read as anyone,
        // within the API's per-address budget.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(crate::share::robots))
                .routes(routes!(crate::share::sitemap))
                .routes(routes!(crate::share::card))
                // The API's description, read by documentation tools and
                // the reference page whatever cookie the browser holds.
                .routes(routes!(openapi_json))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::share::limited,
                )),
        )
        // Signed by the payment provider, not a session or key.
        .routes(routes!(webhooks::stripe))
        // A deployment's webhook URL: the token in the path (and a signed
        // URL's signature) is the credential; no session, no key.
        .routes(routes!(hooks::call_hook))
        // A web embed's visitor: no account; `Origin`, the page's origin
        // and a visitor token (`embeds.rs`) decide.
        .routes(routes!(embeds::embed_frame))
        .routes(routes!(embeds::open_embed_session))
        .routes(routes!(
            embeds::send_embed_message,
            embeds::list_embed_messages,
            embeds::clear_embed_messages
        ))
        // The OAuth authorization server in front of /mcp: clients
        // authenticate with their own credentials, people on the consent
        // page (a server function).
        .routes(routes!(oauth::mcp_resource))
        .routes(routes!(oauth::root_resource))
        .routes(routes!(oauth::server_metadata))
        .routes(routes!(oauth::register))
        .routes(routes!(oauth::authorize))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke));
    // Its own bearer check (`mcp::auth`): a key holding `mcp`, no cookie.
    let public = openapi::mcp(public, &state);

    // Each half gets the JSON 405 before its layers, so a wrong method is
    // authenticated, limited and refused cross-site like a right one.
    let (api, api_document) = api.split_for_parts();
    let api = authenticated(
        &state,
        api.method_not_allowed_fallback(not_found::method_not_allowed),
    );
    let (public, public_document) = public.split_for_parts();
    let public = public.method_not_allowed_fallback(not_found::method_not_allowed);
    let mut document = openapi::ApiDoc::openapi();
    document.merge(public_document);
    document.merge(api_document);
    let document = Document(Bytes::from(
        serde_json::to_vec(&openapi::finish(&document)).unwrap_or_default(),
    ));

    Router::new()
        .merge(public)
        .merge(api)
        .fallback(spa::serve)
        .layer(Extension(document))
        .layer(middleware::from_fn(crate::api::nul::refuse))
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

/// The OpenAPI document as served, made once.
#[derive(Clone)]
struct Document(Bytes);

/// This document, OpenAPI 3.1.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "public",
    operation_id = "openapi_document",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)),
    security(())
)]
async fn openapi_json(Extension(Document(document)): Extension<Document>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document,
    )
}
