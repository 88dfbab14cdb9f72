//! Calling the SPA's server functions as a browser does, and comparing
//! their answers with the REST API's.

use reqwest::StatusCode;
use serde_json::Value;

use super::browser::Browser;

/// Calls server function `name` as `browser`: reads are GETs with `query`,
/// changes POSTs of JSON `args` (with the session's CSRF token and Origin,
/// as `Browser` sends on any mutation).
pub async fn call(
    browser: &mut Browser,
    name: &str,
    read: Option<&str>,
    args: Value,
) -> (StatusCode, Value) {
    let path = format!("{}/{name}", app::api::SERVER_FN_PREFIX);
    match read {
        Some(query) => {
            let path = format!("{path}?{query}");
            browser.get(&path).await
        }
        None => browser.post(&path, args).await,
    }
}

pub async fn read(browser: &mut Browser, name: &str, query: &str) -> (StatusCode, Value) {
    call(browser, name, Some(query), Value::Null).await
}

pub async fn post(browser: &mut Browser, name: &str, args: Value) -> (StatusCode, Value) {
    call(browser, name, None, args).await
}

/// A server function's error and the REST envelope's, alike but for the
/// request id.
pub fn same_error(from_fn: &Value, from_rest: &Value, code: &str) {
    let rest = super::error_of(from_rest, code);
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value
            .as_object()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    assert_eq!(keys(from_fn), keys(rest), "{from_fn} vs {from_rest}");
    for key in ["code", "message", "field"] {
        assert_eq!(from_fn[key], rest[key], "{key}: {from_fn} vs {from_rest}");
    }
    assert!(from_fn["request_id"].is_string(), "{from_fn}");
}
