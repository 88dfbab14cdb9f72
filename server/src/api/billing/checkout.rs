//! `POST /api/v1/billing/checkout {credits, workspace?}`: 201 with a
//! checkout whose `url` is where the browser pays, and
//! `GET /api/v1/billing/checkouts/{id}`: whether it was paid yet.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use service::{Services, payments};
use types::billing::{Checkout, StartCheckout};

use crate::api::body::Body;
use crate::api::extract::PathId;
use crate::auth::CallerOf;
use crate::error::AppError;
use types::CheckoutId;

pub async fn start_checkout(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Body(request): Body<StartCheckout>,
) -> Result<(StatusCode, Json<Checkout>), AppError> {
    let checkout = payments::checkout(&services, &caller.actor, request).await?;
    Ok((StatusCode::CREATED, Json(checkout)))
}

pub async fn show_checkout(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    PathId(id): PathId<CheckoutId>,
) -> Result<Json<Checkout>, AppError> {
    Ok(Json(
        payments::show_checkout(&services, &caller.actor, id.0).await?,
    ))
}
