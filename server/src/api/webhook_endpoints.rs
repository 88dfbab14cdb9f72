//! `/api/v1/webhooks/endpoints`: a workspace's outgoing webhook endpoints,
//! their secrets, test events, delivery log and redelivery.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use service::{ServiceError, webhooks};
use types::webhooks::{
    NewWebhookEndpoint, RedeliverFailed, Redelivered, RotateSecret, WebhookDelivery,
    WebhookEndpoint, WebhookEndpointChange, WebhookEndpointWithSecret,
};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, QueryOf, Reply, accepted, created};
use crate::error::AppError;

fn endpoint_id(id: &str) -> Result<uuid::Uuid, ServiceError> {
    id.parse().map_err(|_| ServiceError::NotFound {
        what: "webhook endpoint",
    })
}

/// Whose endpoints.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Whose {
    /// A team's slug; the caller's personal workspace if left out (a key's
    /// own).
    workspace: Option<String>,
}

/// A workspace's endpoints.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    /// Oldest first, at most 20.
    items: Vec<WebhookEndpoint>,
}

/// List webhook endpoints
///
/// A workspace's outgoing webhook endpoints. For anyone in it.
#[utoipa::path(
    get,
    path = "/webhooks/endpoints",
    tag = "outgoing-webhooks",
    params(Whose),
    responses(
        (status = 200, description = "The workspace's endpoints", body = EndpointList),
        (status = 404, description = "No workspace of that slug the caller is in",
            body = types::error::ErrorEnvelope),
    ),
    security(("bearer" = ["webhooks:write"]), ("bearer" = ["runs:read"]))
)]
pub async fn list_webhook_endpoints(
    call: Call,
    QueryOf(whose): QueryOf<Whose>,
) -> Reply<EndpointList> {
    let items = webhooks::list(&call.services, &call.actor, whose.workspace.as_deref()).await?;
    Ok(Json(EndpointList { items }))
}

/// Add a webhook endpoint
///
/// Events of the chosen types are posted to `url`, signed per the Standard
/// Webhooks specification with the secret in the answer (shown once). The
/// URL must resolve to public addresses. At most 20 per workspace. For
/// admins and owners.
#[utoipa::path(
    post,
    path = "/webhooks/endpoints",
    tag = "outgoing-webhooks",
    request_body = NewWebhookEndpoint,
    responses(
        (status = 201, description = "The endpoint and its secret", body = WebhookEndpointWithSecret),
        (status = 409, description = "The workspace has 20 endpoints already",
            body = types::error::ErrorEnvelope),
    ),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn create_webhook_endpoint(
    call: Call,
    Body(new): Body<NewWebhookEndpoint>,
) -> Answer<WebhookEndpointWithSecret> {
    created(webhooks::create(&call.services, &call.actor, &call.meta, new).await?)
}

/// Show a webhook endpoint
///
/// For anyone in its workspace.
#[utoipa::path(
    get,
    path = "/webhooks/endpoints/{id}",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint)),
    security(("bearer" = ["webhooks:write"]), ("bearer" = ["runs:read"]))
)]
pub async fn show_webhook_endpoint(call: Call, Path(id): Path<String>) -> Reply<WebhookEndpoint> {
    Ok(Json(
        webhooks::show(&call.services, &call.actor, endpoint_id(&id)?).await?,
    ))
}

/// Change a webhook endpoint
///
/// The fields given replace the old ones; turning it on again forgets its
/// failures. For admins and owners.
#[utoipa::path(
    patch,
    path = "/webhooks/endpoints/{id}",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    request_body = WebhookEndpointChange,
    responses((status = 200, description = "The endpoint as changed", body = WebhookEndpoint)),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn change_webhook_endpoint(
    call: Call,
    Path(id): Path<String>,
    Body(change): Body<WebhookEndpointChange>,
) -> Reply<WebhookEndpoint> {
    let id = endpoint_id(&id)?;
    Ok(Json(
        webhooks::change(&call.services, &call.actor, &call.meta, id, change).await?,
    ))
}

/// Delete a webhook endpoint
///
/// With its delivery log. For admins and owners.
#[utoipa::path(
    delete,
    path = "/webhooks/endpoints/{id}",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses((status = 204, description = "The endpoint is deleted")),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn delete_webhook_endpoint(
    call: Call,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    webhooks::delete(&call.services, &call.actor, &call.meta, endpoint_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an endpoint's secret
///
/// A new secret, answered once. The old one goes on signing beside it (a
/// second `v1,` signature in `webhook-signature`) for `overlap_seconds`, a
/// day if left out. For admins and owners.
#[utoipa::path(
    post,
    path = "/webhooks/endpoints/{id}/rotate-secret",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    request_body = RotateSecret,
    responses((status = 200, description = "The endpoint and its new secret",
        body = WebhookEndpointWithSecret)),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn rotate_webhook_secret(
    call: Call,
    Path(id): Path<String>,
    Body(request): Body<RotateSecret>,
) -> Reply<WebhookEndpointWithSecret> {
    let id = endpoint_id(&id)?;
    Ok(Json(
        webhooks::rotate(&call.services, &call.actor, &call.meta, id, request).await?,
    ))
}

/// Send a test event
///
/// A `webhook.test` event to this endpoint only, through the same queue,
/// signing and log as any event. Five a minute. For admins and owners.
#[utoipa::path(
    post,
    path = "/webhooks/endpoints/{id}/test",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    responses((status = 202, description = "The delivery, queued", body = WebhookDelivery)),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn test_webhook_endpoint(call: Call, Path(id): Path<String>) -> Answer<WebhookDelivery> {
    accepted(webhooks::send_test(&call.services, &call.actor, endpoint_id(&id)?).await?)
}

/// Which deliveries to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilters {
    /// Only deliveries in this state: `pending`, `succeeded`, `failed` or
    /// `cancelled`.
    state: Option<String>,
    /// How many (1 to 100; 50 if left out).
    limit: Option<i64>,
}

/// The deliveries of an endpoint.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    items: Vec<WebhookDelivery>,
}

/// An endpoint's delivery log
///
/// Its deliveries, newest first, each with the body sent and its attempts:
/// the headers sent, the answer's status and first 4 KB, the duration. For
/// anyone in its workspace (keys with `runs:read`: the bodies carry runs'
/// outputs).
#[utoipa::path(
    get,
    path = "/webhooks/endpoints/{id}/deliveries",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id"), DeliveryFilters),
    responses((status = 200, description = "The deliveries", body = DeliveryList)),
    security(("bearer" = ["runs:read"]))
)]
pub async fn list_webhook_deliveries(
    call: Call,
    Path(id): Path<String>,
    QueryOf(filters): QueryOf<DeliveryFilters>,
) -> Reply<DeliveryList> {
    let items = webhooks::deliveries(
        &call.services,
        &call.actor,
        endpoint_id(&id)?,
        filters.state.as_deref(),
        filters.limit,
    )
    .await?;
    Ok(Json(DeliveryList { items }))
}

/// Redeliver the failed deliveries since a time
///
/// Every delivery of the endpoint that failed (its attempts used up) and
/// was made since `since`, sent again with the same `webhook-id`; at most
/// 1,000. For admins and owners.
#[utoipa::path(
    post,
    path = "/webhooks/endpoints/{id}/redeliver",
    tag = "outgoing-webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint's id")),
    request_body = RedeliverFailed,
    responses((status = 202, description = "How many were queued", body = Redelivered)),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn redeliver_failed(
    call: Call,
    Path(id): Path<String>,
    Body(request): Body<RedeliverFailed>,
) -> Answer<Redelivered> {
    let id = endpoint_id(&id)?;
    accepted(webhooks::redeliver_failed(&call.services, &call.actor, id, request.since).await?)
}

/// Redeliver one delivery
///
/// Sends a finished delivery again, with the same `webhook-id`. For admins
/// and owners.
#[utoipa::path(
    post,
    path = "/webhooks/deliveries/{id}/redeliver",
    tag = "outgoing-webhooks",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 202, description = "The delivery, queued", body = WebhookDelivery)),
    security(("bearer" = ["webhooks:write"]))
)]
pub async fn redeliver_webhook(call: Call, Path(id): Path<String>) -> Answer<WebhookDelivery> {
    let id: i64 = id
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "delivery" })?;
    accepted(webhooks::redeliver(&call.services, &call.actor, id).await?)
}
