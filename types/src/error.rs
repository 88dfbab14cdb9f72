//! The error every client sees, from a server function or the REST API.
//!
//! It carries a stable `code`, a human `message`, the `field` at fault for
//! validation errors and the `request_id` to quote when reporting a 5xx.

use serde::{Deserialize, Serialize};

/// Stable machine-readable error codes.
pub mod code {
    pub const NOT_FOUND: &str = "not_found";
    pub const INVALID_PARAMETER: &str = "invalid_parameter";
    /// The request body or arguments could not be read at all.
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const FORBIDDEN: &str = "forbidden";
    /// 403: the account must verify its email address before doing this.
    pub const EMAIL_UNVERIFIED: &str = "email_unverified";
    pub const CONFLICT: &str = "conflict";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const INVALID_API_KEY: &str = "invalid_api_key";
    pub const RATE_LIMITED: &str = "rate_limited";
    /// A paid action the workspace has too few credits for (402).
    pub const INSUFFICIENT_CREDITS: &str = "insufficient_credits";
    /// 402: a monthly spend cap (deployment or API key) is reached.
    pub const SPEND_CAP_REACHED: &str = "spend_cap_reached";
    /// 400: a webhook whose signature does not verify.
    pub const INVALID_SIGNATURE: &str = "invalid_signature";
    /// A body over the route's size limit (413).
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
    /// The request never got a proper answer (network down, bad encoding).
    pub const REQUEST_FAILED: &str = "request_failed";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every value at fault when there are several (an input against its
    /// schema): each JSON path with what it must be. `field` and `message`
    /// name the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<crate::json_schema::Violation>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: None,
            request_id: None,
            problems: Vec::new(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code == code::NOT_FOUND
    }
}

/// The JSON envelope of REST errors: `{"error": {...}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ApiError,
}

#[cfg(feature = "server-fn")]
impl server_fn::error::FromServerFnError for ApiError {
    type Encoder = server_fn::codec::JsonEncoding;

    /// On the server: the request could not be decoded (400) or the answer
    /// could not be made (500). In the browser: the call failed on the way.
    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        return ssr::server_fn_failure(value);
        #[cfg(not(feature = "ssr"))]
        Self::new(code::REQUEST_FAILED, value.to_string())
    }
}

/// The server side of server-function errors: the HTTP status an error
/// answers with. Server functions run inside `status::scope` (the server's
/// handler puts them there) and set the status of the error they return;
/// the handler applies it to the response.
#[cfg(feature = "ssr")]
pub mod status {
    use std::cell::Cell;

    tokio::task_local! {
        static STATUS: Cell<Option<u16>>;
    }

    /// Runs `future` (a server function call) and answers its output and the
    /// status it set, if any.
    pub async fn scope<F: std::future::Future>(future: F) -> (F::Output, Option<u16>) {
        STATUS
            .scope(Cell::new(None), async move {
                let output = future.await;
                (output, STATUS.with(Cell::get))
            })
            .await
    }

    /// Sets the status of the current server function's answer.
    pub fn set(status: u16) {
        // Outside a scope (a unit test calling a function directly) there is
        // no response to set it on.
        let _ = STATUS.try_with(|slot| slot.set(Some(status)));
    }
}

#[cfg(all(feature = "ssr", feature = "server-fn"))]
mod ssr {
    use server_fn::error::ServerFnErrorErr;

    use super::{ApiError, code};

    /// A failure of the server function machinery itself: arguments that
    /// do not decode are the client's fault (400, with the decoder's
    /// message); anything else is ours (500, logged, generic message).
    pub fn server_fn_failure(error: ServerFnErrorErr) -> ApiError {
        let request_id = crate::request_id::current();
        match error {
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::MissingArg(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message) => {
                super::status::set(400);
                ApiError {
                    request_id,
                    ..ApiError::new(
                        code::INVALID_REQUEST,
                        format!("the request could not be read: {message}"),
                    )
                }
            }
            other => {
                super::status::set(500);
                tracing::error!(request_id = request_id.as_deref(), cause = %other, "server function failed");
                ApiError {
                    request_id,
                    ..ApiError::new(
                        code::INTERNAL,
                        "Something went wrong on our side. Quote the request id if you report it.",
                    )
                }
            }
        }
    }
}
