//! `POST /api/v1/billing/checkout {credits, workspace?}`: 201 with a
//! checkout whose `url` is where the browser pays, and
//! `GET /api/v1/billing/checkouts/{id}`: whether it was paid yet.

use axum::Json;
use service::payments;
use types::billing::{Checkout, StartCheckout};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use types::CheckoutId;

/// Buy credits
///
/// Starts buying `credits` for a workspace (the caller's personal one when
/// none is named) with the payment provider: the answer's `url` is where the
/// browser pays. For members and up with a verified email, in a browser
/// session (not an API key).
#[utoipa::path(
    post,
    path = "/billing/checkout",
    tag = "billing",
    request_body = StartCheckout,
    responses(
        (status = 201, description = "The checkout, with the `url` to pay at", body = Checkout),
        (status = 404, description = "No such workspace, or not one of the caller's",
            body = ErrorEnvelope),
        (status = 409, description = "Buying credits is not set up on this server",
            body = ErrorEnvelope),
    ),
    security(("session" = []))
)]
pub async fn start_checkout(call: Call, Body(request): Body<StartCheckout>) -> Answer<Checkout> {
    created(payments::checkout(&call.services, &call.actor, request).await?)
}

/// Show a checkout
///
/// One of a workspace's checkouts, to see whether it was paid yet. For
/// members and up of its workspace (not viewers).
#[utoipa::path(
    get,
    path = "/billing/checkouts/{id}",
    tag = "billing",
    params(("id" = uuid::Uuid, Path, description = "The checkout's id")),
    responses((status = 200, description = "The checkout and its status", body = Checkout)),
    security(("bearer" = ["billing:read"]))
)]
pub async fn show_checkout(call: Call, PathId(id): PathId<CheckoutId>) -> Reply<Checkout> {
    Ok(Json(
        payments::show_checkout(&call.services, &call.actor, id.0).await?,
    ))
}
