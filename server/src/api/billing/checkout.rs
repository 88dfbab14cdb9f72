//! `POST /api/v1/billing/checkout {credits, workspace?}`: 201 with a
//! checkout whose `url` is where the browser pays, and
//! `GET /api/v1/billing/checkouts/{id}`: whether it was paid yet.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use service::{Services, payments};
use types::billing::{Checkout, StartCheckout};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

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
    Path(id): Path<String>,
) -> Result<Json<Checkout>, AppError> {
    let id = id
        .parse()
        .map_err(|_| AppError::from(service::ServiceError::NotFound { what: "checkout" }))?;
    Ok(Json(
        payments::show_checkout(&services, &caller.actor, id).await?,
    ))
}
