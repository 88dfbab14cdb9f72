//! The SPA's calls to the REST API for accounts and keys: JSON over fetch,
//! with the session's CSRF token on every state-changing request. Errors
//! arrive as the API's error envelope.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, code};

#[cfg(feature = "csr")]
pub async fn call<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&(impl Serialize + ?Sized)>,
    csrf: Option<String>,
) -> Result<T, ApiError> {
    use gloo_net::http::{Method, RequestBuilder};

    let failed = |e: &dyn std::fmt::Display| {
        ApiError::new(
            code::REQUEST_FAILED,
            format!("The request did not get through: {e}"),
        )
    };
    let method = match method {
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    };
    let mut builder = RequestBuilder::new(path).method(method);
    if let Some(token) = csrf {
        builder = builder.header("x-csrf-token", &token);
    }
    let request = match body {
        Some(body) => builder.json(body).map_err(|e| failed(&e))?,
        None => builder.build().map_err(|e| failed(&e))?,
    };
    let response = request.send().await.map_err(|e| failed(&e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| failed(&e))?;
    if (200..300).contains(&status) {
        let text = if text.is_empty() {
            "null"
        } else {
            text.as_str()
        };
        return serde_json::from_str(text).map_err(|e| failed(&e));
    }
    Err(serde_json::from_str::<crate::error::ErrorEnvelope>(&text)
        .map(|envelope| envelope.error)
        .unwrap_or_else(|_| {
            ApiError::new(
                code::REQUEST_FAILED,
                format!("The server answered {status}."),
            )
        }))
}

/// The server never renders the SPA; this only keeps the crate compiling
/// without the browser feature.
#[cfg(not(feature = "csr"))]
pub async fn call<T: DeserializeOwned>(
    _method: &str,
    _path: &str,
    _body: Option<&(impl Serialize + ?Sized)>,
    _csrf: Option<String>,
) -> Result<T, ApiError> {
    Err(ApiError::new(
        code::REQUEST_FAILED,
        "only available in the browser",
    ))
}
