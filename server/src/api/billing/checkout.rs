//! `POST /api/v1/billing/checkout {credits, workspace?}`: 201 with a
//! checkout whose `url` is where the browser pays, and
//! `GET /api/v1/billing/checkouts/{id}`: whether it was paid yet.

use axum::Json;
use service::payments;
use types::billing::{Checkout, StartCheckout};

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, Reply, created};
use types::CheckoutId;

pub async fn start_checkout(call: Call, Body(request): Body<StartCheckout>) -> Answer<Checkout> {
    created(payments::checkout(&call.services, &call.actor, request).await?)
}

pub async fn show_checkout(call: Call, PathId(id): PathId<CheckoutId>) -> Reply<Checkout> {
    Ok(Json(
        payments::show_checkout(&call.services, &call.actor, id.0).await?,
    ))
}
