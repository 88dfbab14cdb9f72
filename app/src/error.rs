//! The error every client sees, from a server function or the REST API.
//!
//! It carries a stable `code`, a human `message`, the `field` at fault for
//! validation errors and the `request_id` to quote when reporting a 5xx.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Stable machine-readable error codes.
pub mod code {
    pub const NOT_FOUND: &str = "not_found";
    pub const INVALID_PARAMETER: &str = "invalid_parameter";
    /// The request body or arguments could not be read at all.
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const FORBIDDEN: &str = "forbidden";
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
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
    /// The request never got a proper answer (network down, bad encoding).
    pub const REQUEST_FAILED: &str = "request_failed";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: None,
            request_id: None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code == code::NOT_FOUND
    }
}

/// The JSON envelope of REST errors: `{"error": {...}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ApiError,
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    /// On the server: the request could not be decoded (400) or the answer
    /// could not be made (500). In the browser: the call failed on the way.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        return crate::service::error::server_fn_failure(value);
        #[cfg(not(feature = "ssr"))]
        Self::new(code::REQUEST_FAILED, value.to_string())
    }
}
