//! `Body<T>`: a JSON request body whose problems are API errors (422 naming
//! what is wrong), not axum's plain-text rejections.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::invalid(
                "body",
                "send JSON with Content-Type: application/json",
            )),
            Err(rejection) => Err(AppError::invalid("body", rejection.body_text())),
        }
    }
}
