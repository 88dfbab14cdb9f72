//! Service errors and the policy that turns them into what clients see.
//!
//! Policy: a missing or invisible resource is 404; a bad parameter is 422 with
//! the field named; an exhausted or unreachable database is 503; anything else
//! is 500. For 5xx the client gets a generic message and the request id, and
//! the real cause goes to the log under that id. Internal error text is never
//! sent to a client.

use diesel::result::Error as DieselError;
use diesel_async::pooled_connection::deadpool::PoolError;

use types::error::{ApiError, code};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A run's input that does not meet its agent's input schema (422):
    /// each violation with its JSON path, the first named as the field.
    #[error("the input does not meet the agent's input schema: {}", .0.first().map(ToString::to_string).unwrap_or_default())]
    InvalidInput(Vec<types::json_schema::Violation>),
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("not signed in")]
    Unauthenticated,
    /// The caller is known but may not do this (and may know the thing
    /// exists; otherwise the answer is `NotFound`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The account's address is not verified yet, and this needs it (403).
    #[error("the email address is not verified")]
    EmailUnverified,
    #[error("unknown, revoked or expired API key")]
    InvalidApiKey,
    /// Not enough credits for what was asked (nothing happened).
    #[error("payment required: {0}")]
    PaymentRequired(String),
    /// A monthly spend cap (the field names which) stops what was asked
    /// (nothing happened).
    #[error("{field}: {message}")]
    SpendCapReached {
        field: &'static str,
        message: String,
    },
    /// A webhook whose signature does not verify (400).
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Too many attempts (signing in or up); retry after `retry_after`.
    #[error("rate limited: {message}")]
    RateLimited {
        retry_after: std::time::Duration,
        message: &'static str,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::Invalid { .. } | Self::InvalidInput(_) => 422,
            Self::Conflict { .. } => 409,
            Self::Unauthenticated | Self::InvalidCredentials | Self::InvalidApiKey => 401,
            Self::Forbidden(_) | Self::EmailUnverified => 403,
            Self::BadSignature(_) => 400,
            Self::PaymentRequired(_) | Self::SpendCapReached { .. } => 402,
            Self::RateLimited { .. } => 429,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The client-facing error. Logs the cause of 5xx errors with the request id.
    pub fn to_api_error(&self) -> ApiError {
        let request_id = types::request_id::current();
        let mut error = match self {
            Self::NotFound { what } => ApiError::new(code::NOT_FOUND, format!("{what} not found")),
            Self::Invalid { field, message } => ApiError {
                field: Some((*field).to_owned()),
                ..ApiError::new(code::INVALID_PARAMETER, format!("{field}: {message}"))
            },
            Self::InvalidInput(violations) => {
                let first = violations.first();
                let more = match violations.len() {
                    0 | 1 => String::new(),
                    n => format!(" (and {} more: see problems)", n - 1),
                };
                ApiError {
                    field: first.map(|violation| violation.path.clone()),
                    problems: violations.clone(),
                    ..ApiError::new(
                        code::INVALID_PARAMETER,
                        format!(
                            "{}{more}",
                            first.map(ToString::to_string).unwrap_or_default()
                        ),
                    )
                }
            }
            Self::Conflict { field, message } => ApiError {
                field: Some((*field).to_owned()),
                ..ApiError::new(code::CONFLICT, format!("{field}: {message}"))
            },
            Self::Unauthenticated => ApiError::new(
                code::UNAUTHENTICATED,
                "Sign in first: this needs a session or an API key.",
            ),
            Self::InvalidCredentials => ApiError::new(
                code::INVALID_CREDENTIALS,
                "The email or password is incorrect.",
            ),
            Self::Forbidden(reason) => ApiError::new(code::FORBIDDEN, reason.clone()),
            Self::EmailUnverified => ApiError::new(
                code::EMAIL_UNVERIFIED,
                "Verify your email address first: follow the link we sent you, or send a new \
                 one from Settings.",
            ),
            Self::BadSignature(reason) => ApiError::new(code::INVALID_SIGNATURE, reason.clone()),
            Self::PaymentRequired(reason) => {
                ApiError::new(code::INSUFFICIENT_CREDITS, reason.clone())
            }
            Self::SpendCapReached { field, message } => ApiError {
                field: Some((*field).to_owned()),
                ..ApiError::new(code::SPEND_CAP_REACHED, message.clone())
            },
            Self::InvalidApiKey => ApiError::new(
                code::INVALID_API_KEY,
                "The API key is unknown, revoked or expired.",
            ),
            Self::RateLimited { message, .. } => ApiError::new(code::RATE_LIMITED, *message),
            Self::Unavailable(cause) => {
                tracing::error!(request_id = request_id.as_deref(), %cause, "service unavailable");
                ApiError::new(
                    code::UNAVAILABLE,
                    "The service is temporarily unavailable; please retry shortly.",
                )
            }
            Self::Internal(cause) => {
                tracing::error!(request_id = request_id.as_deref(), cause = ?cause, "internal error");
                ApiError::new(
                    code::INTERNAL,
                    "Something went wrong on our side. Quote the request id if you report it.",
                )
            }
        };
        error.request_id = request_id;
        error
    }
}

impl From<PoolError> for ServiceError {
    fn from(error: PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<DieselError> for ServiceError {
    fn from(error: DieselError) -> Self {
        match error {
            // A `.first()` that found nothing where callers did not ask for
            // `.optional()`: the resource is missing.
            DieselError::NotFound => Self::NotFound { what: "resource" },
            // The connection died under the query: the database went away.
            DieselError::BrokenTransactionManager => Self::Unavailable(error.to_string()),
            DieselError::DatabaseError(diesel::result::DatabaseErrorKind::ClosedConnection, _) => {
                Self::Unavailable(error.to_string())
            }
            other => Self::Internal(other.into()),
        }
    }
}
