//! What runs a deployment by itself, and what tells other systems: its
//! schedules and inbound webhook URLs (the deployment page's Triggers
//! panel), and the workspace's outgoing webhook endpoints with their
//! delivery log (the Webhooks settings page). Each is one call into
//! `service::{schedules, hooks, webhooks}`, as the REST routes are.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::error::ApiError;
use types::triggers::{
    Hook, HookWithToken, NewHook, NewSchedule, Schedule, ScheduleChange, SchedulePreview,
    SchedulePreviewRequest,
};
use types::webhooks::{
    NewWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret,
};
use uuid::Uuid;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, failed, meta, services};

#[server(prefix = "/api/fn", endpoint = "list_schedules", input = GetUrl, client = CsrfClient)]
pub async fn list_schedules(deployment: Uuid) -> Result<Vec<Schedule>, ApiError> {
    answer(service::schedules::list(&services()?, &actor(), deployment)).await
}

#[server(prefix = "/api/fn", endpoint = "create_schedule", input = Json, client = CsrfClient)]
pub async fn create_schedule(
    deployment: Uuid,
    schedule: NewSchedule,
) -> Result<Schedule, ApiError> {
    answer_with(
        201,
        service::schedules::create(&services()?, &actor(), &meta(), deployment, schedule),
    )
    .await
}

#[server(prefix = "/api/fn", endpoint = "change_schedule", input = Json, client = CsrfClient)]
pub async fn change_schedule(
    deployment: Uuid,
    schedule: Uuid,
    change: ScheduleChange,
) -> Result<Schedule, ApiError> {
    answer(service::schedules::change(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        schedule,
        change,
    ))
    .await
}

#[server(prefix = "/api/fn", endpoint = "delete_schedule", input = Json, client = CsrfClient)]
pub async fn delete_schedule(deployment: Uuid, schedule: Uuid) -> Result<(), ApiError> {
    answer(service::schedules::delete(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        schedule,
    ))
    .await
}

/// The next five slots of a timing, before it is saved.
#[server(prefix = "/api/fn", endpoint = "preview_schedule", input = Json, client = CsrfClient)]
pub async fn preview_schedule(
    request: SchedulePreviewRequest,
) -> Result<SchedulePreview, ApiError> {
    service::schedules::preview(&services()?, &actor(), &request).map_err(failed)
}

#[server(prefix = "/api/fn", endpoint = "list_hooks", input = GetUrl, client = CsrfClient)]
pub async fn list_hooks(deployment: Uuid) -> Result<Vec<Hook>, ApiError> {
    answer(service::hooks::list(&services()?, &actor(), deployment)).await
}

/// A new webhook URL; its token (and a signed URL's secret) are in the
/// answer, once.
#[server(prefix = "/api/fn", endpoint = "create_hook", input = Json, client = CsrfClient)]
pub async fn create_hook(deployment: Uuid, hook: NewHook) -> Result<HookWithToken, ApiError> {
    answer_with(
        201,
        service::hooks::create(&services()?, &actor(), &meta(), deployment, hook),
    )
    .await
}

#[server(prefix = "/api/fn", endpoint = "delete_hook", input = Json, client = CsrfClient)]
pub async fn delete_hook(deployment: Uuid, hook: Uuid) -> Result<(), ApiError> {
    answer(service::hooks::delete(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        hook,
    ))
    .await
}

/// A workspace's endpoints (`workspace`: a team's slug; the personal one
/// if `None`).
#[server(prefix = "/api/fn", endpoint = "list_webhook_endpoints", input = GetUrl, client = CsrfClient)]
pub async fn list_webhook_endpoints(
    workspace: Option<String>,
) -> Result<Vec<WebhookEndpoint>, ApiError> {
    answer(service::webhooks::list(
        &services()?,
        &actor(),
        workspace.as_deref(),
    ))
    .await
}

/// A new endpoint; its secret is in the answer, once.
#[server(prefix = "/api/fn", endpoint = "create_webhook_endpoint", input = Json, client = CsrfClient)]
pub async fn create_webhook_endpoint(
    endpoint: NewWebhookEndpoint,
) -> Result<WebhookEndpointWithSecret, ApiError> {
    answer_with(
        201,
        service::webhooks::create(&services()?, &actor(), &meta(), endpoint),
    )
    .await
}

#[server(prefix = "/api/fn", endpoint = "delete_webhook_endpoint", input = Json, client = CsrfClient)]
pub async fn delete_webhook_endpoint(id: Uuid) -> Result<(), ApiError> {
    answer(service::webhooks::delete(
        &services()?,
        &actor(),
        &meta(),
        id,
    ))
    .await
}

/// Sends a `webhook.test` event to the endpoint (202: it is queued).
#[server(prefix = "/api/fn", endpoint = "test_webhook_endpoint", input = Json, client = CsrfClient)]
pub async fn test_webhook_endpoint(id: Uuid) -> Result<WebhookDelivery, ApiError> {
    answer_with(
        202,
        service::webhooks::send_test(&services()?, &actor(), id),
    )
    .await
}

/// The endpoint's newest deliveries with their attempts.
#[server(prefix = "/api/fn", endpoint = "list_webhook_deliveries", input = GetUrl, client = CsrfClient)]
pub async fn list_webhook_deliveries(id: Uuid) -> Result<Vec<WebhookDelivery>, ApiError> {
    answer(service::webhooks::deliveries(
        &services()?,
        &actor(),
        id,
        None,
        Some(50),
    ))
    .await
}

/// Sends a finished delivery again (202).
#[server(prefix = "/api/fn", endpoint = "redeliver_webhook", input = Json, client = CsrfClient)]
pub async fn redeliver_webhook(delivery: i64) -> Result<WebhookDelivery, ApiError> {
    answer_with(
        202,
        service::webhooks::redeliver(&services()?, &actor(), delivery),
    )
    .await
}
