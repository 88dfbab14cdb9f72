//! `AppError`: what a REST handler returns when it fails.
//!
//! Policy (shared with server functions through `ServiceError`): missing or
//! invisible → 404; bad parameter → 422 naming the field; database exhausted
//! or down → 503; anything else → 500. Every error body is
//! `{"error":{"code","message","field"?,"request_id"}}`; 5xx bodies carry a
//! generic message while the cause is logged under the request id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use service::ServiceError;
use types::error::{ApiError, ErrorEnvelope, code};
use types::request_id;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A bad parameter whose name is only known at run time (a query
    /// string's): 422 like `ServiceError::Invalid`.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// A body over the route's limit (413).
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
}

impl AppError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Service(ServiceError::invalid(field, message))
    }

    /// The field a 422 names, if this is one.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::Service(ServiceError::Invalid { field, .. }) => Some((*field).to_owned()),
            Self::Service(ServiceError::InvalidInput(violations)) => {
                violations.first().map(|violation| violation.path.clone())
            }
            Self::InvalidField { field, .. } => Some(field.clone()),
            _ => None,
        }
    }
}

impl AppError {
    /// The answer in a server function's shape: the bare `ApiError` (what
    /// the SPA's client reads), with the same status and `Retry-After`.
    pub fn into_server_fn_response(self) -> Response {
        let (status, wait, error) = self.parts();
        respond(status, wait, Json(error))
    }

    /// The status, the wait of a 429 in whole seconds, and the error.
    fn parts(self) -> (StatusCode, Option<u64>, ApiError) {
        let (status, error) = match self {
            AppError::Service(ServiceError::RateLimited {
                retry_after,
                message,
            }) => {
                // Whole seconds, rounded up: retrying at once would fail again.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let error = ApiError {
                    request_id: request_id::current(),
                    ..ApiError::new(code::RATE_LIMITED, message)
                };
                return (StatusCode::TOO_MANY_REQUESTS, Some(seconds.max(1)), error);
            }
            AppError::Service(error) => (
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error.to_api_error(),
            ),
            AppError::RouteNotFound(path) => (
                StatusCode::NOT_FOUND,
                ApiError {
                    request_id: request_id::current(),
                    ..ApiError::new(code::NOT_FOUND, format!("no API route at {path}"))
                },
            ),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ApiError {
                    request_id: request_id::current(),
                    ..ApiError::new(
                        code::METHOD_NOT_ALLOWED,
                        "this route does not accept that method",
                    )
                },
            ),
            AppError::InvalidField { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiError {
                    request_id: request_id::current(),
                    message: format!("{field}: {message}"),
                    field: Some(field),
                    ..ApiError::new(code::INVALID_PARAMETER, "")
                },
            ),
            AppError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError {
                    request_id: request_id::current(),
                    ..ApiError::new(
                        code::PAYLOAD_TOO_LARGE,
                        format!("the body is larger than this URL's limit of {limit} bytes"),
                    )
                },
            ),
            AppError::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                ApiError {
                    request_id: request_id::current(),
                    ..ApiError::new(code::FORBIDDEN, reason)
                },
            ),
        };
        (status, None, error)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, wait, error) = self.parts();
        respond(status, wait, Json(ErrorEnvelope { error }))
    }
}

fn respond(status: StatusCode, wait: Option<u64>, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    if let Some(seconds) = wait {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        );
    }
    response
}
