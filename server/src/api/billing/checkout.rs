//! `POST /api/v1/billing/checkout {credits, workspace?}`: 201 with a
//! checkout whose `url` is where the browser pays, and
//! `GET /api/v1/billing/checkouts/{id}`: whether it was paid yet.

use axum::Json;
use axum::http::StatusCode;
use service::payments;
use types::billing::{Checkout, StartCheckout};

use crate::api::body::Body;
use crate::api::extract::{Call, PathId, Reply};
use crate::error::AppError;
use types::CheckoutId;

pub async fn start_checkout(
    call: Call,
    Body(request): Body<StartCheckout>,
) -> Result<(StatusCode, Json<Checkout>), AppError> {
    let checkout = payments::checkout(&call.services, &call.actor, request).await?;
    Ok((StatusCode::CREATED, Json(checkout)))
}

pub async fn show_checkout(call: Call, PathId(id): PathId<CheckoutId>) -> Reply<Checkout> {
    Ok(Json(
        payments::show_checkout(&call.services, &call.actor, id.0).await?,
    ))
}
