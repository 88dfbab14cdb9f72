//! PostgreSQL's text and `jsonb` hold no NUL character (U+0000): a name,
//! parameter or JSON value carrying one would fail deep in a query as a
//! 500. It is refused at the door instead: in a path as the 404 of a name
//! that cannot exist, in the query string as a 422 naming the parameter,
//! in a JSON body (`Body`, the server functions) as a 422 naming the JSON
//! path.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use service::ServiceError;

use crate::error::AppError;

const MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// The middleware for paths and query strings.
pub async fn refuse(request: Request, next: Next) -> Response {
    // Decoded, `%00` is the only way a NUL reaches a path or query.
    if request.uri().path().contains("%00") {
        return AppError::from(ServiceError::NotFound { what: "resource" }).into_response();
    }
    if let Some(query) = request.uri().query()
        && query.contains("%00")
    {
        let field = form_urlencoded::parse(query.as_bytes())
            .find(|(key, value)| key.contains('\0') || value.contains('\0'))
            .map(|(key, _)| key.into_owned())
            .filter(|key| !key.contains('\0') && !key.is_empty())
            .unwrap_or_else(|| "query".to_owned());
        return AppError::InvalidField {
            field,
            message: MESSAGE.to_owned(),
        }
        .into_response();
    }
    next.run(request).await
}

/// The error for a JSON body carrying a NUL in a string or a key, naming
/// its JSON path (`input.text`, `tags[2]`), or `body` for the whole.
pub fn in_json(bytes: &[u8]) -> Option<AppError> {
    // A NUL can only be written `\u0000` in JSON text: most bodies are
    // passed over by this scan alone.
    if !bytes.windows(6).any(|window| window == b"\\u0000") {
        return None;
    }
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let path = nul_path(&value, String::new())?;
    Some(AppError::InvalidField {
        field: if path.is_empty() {
            "body".to_owned()
        } else {
            path
        },
        message: MESSAGE.to_owned(),
    })
}

fn nul_path(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_path(item, format!("{at}[{index}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if at.is_empty() {
                key.replace('\0', "\\u0000")
            } else {
                format!("{at}.{}", key.replace('\0', "\\u0000"))
            };
            if key.contains('\0') {
                Some(here)
            } else {
                nul_path(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_with_its_path() {
        let field = |body: &str| in_json(body.as_bytes()).and_then(|error| error.field());
        assert_eq!(field(r#"{"name": "ok"}"#), None);
        assert_eq!(
            field(r#"{"name": "a\\u0000b"}"#),
            None,
            "an escaped backslash"
        );
        assert_eq!(
            field(r#"{"input": {"text": "a\u0000"}}"#).as_deref(),
            Some("input.text")
        );
        assert_eq!(
            field(r#"{"tags": ["a", "\u0000"]}"#).as_deref(),
            Some("tags[1]")
        );
        assert_eq!(field(r#"{"\u0000": 1}"#).as_deref(), Some("\\u0000"));
        assert_eq!(field(r#""\u0000""#).as_deref(), Some("body"));
    }
}
