//! The SPA's few calls to the REST API itself: signing in, up and out,
//! which set or clear the session cookie (every other data call is a server
//! function, `crate::api`). JSON over fetch, with the session's CSRF token
//! on state-changing requests; errors arrive as the API's error envelope.

use serde::Serialize;
use serde::de::DeserializeOwned;

use types::error::{ApiError, code};

pub async fn call<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&(impl Serialize + ?Sized)>,
    csrf: Option<String>,
) -> Result<T, ApiError> {
    let body = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| failed(&e))?;
    let text = send(method, path, body, csrf).await?;
    serde_json::from_str(if text.is_empty() { "null" } else { &text }).map_err(|e| failed(&e))
}

fn failed(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(
        code::REQUEST_FAILED,
        format!("The request did not get through: {e}"),
    )
}

/// The request itself, the same code for every answer type (the WASM
/// bundle carries one copy): the body of a 2xx answer, or the API's error.
/// (The server never renders the SPA: there, it only keeps the crate
/// compiling.)
#[cfg(not(feature = "csr"))]
async fn send(
    _method: &str,
    _path: &str,
    _body: Option<String>,
    _csrf: Option<String>,
) -> Result<String, ApiError> {
    Err(failed(&"only available in the browser"))
}

#[cfg(feature = "csr")]
async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    csrf: Option<String>,
) -> Result<String, ApiError> {
    use gloo_net::http::{Method, RequestBuilder};

    let method = match method {
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    };
    let mut builder = RequestBuilder::new(path).method(method);
    if let Some(token) = csrf {
        builder = builder.header(crate::auth::CSRF_HEADER, &token);
    }
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| failed(&e))?,
        None => builder.build().map_err(|e| failed(&e))?,
    };
    let response = request.send().await.map_err(|e| failed(&e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| failed(&e))?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    Err(serde_json::from_str::<types::error::ErrorEnvelope>(&text)
        .map(|envelope| envelope.error)
        .unwrap_or_else(|_| {
            ApiError::new(
                code::REQUEST_FAILED,
                format!("The server answered {status}."),
            )
        }))
}
