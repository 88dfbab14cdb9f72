//! PostgreSQL's text and `jsonb` hold no NUL character (U+0000): a name,
//! parameter or JSON value carrying one would fail deep in a query as a
//! 500. It is refused at the door instead: in a path as the 404 of a name
//! that cannot exist (as is a path that is not UTF-8 once decoded), in the
//! query string as a 422 naming the parameter, in a JSON body (`Body`, the
//! server functions) as a 422 naming the JSON path.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use service::ServiceError;

use crate::error::AppError;

const MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// The longest body whose NUL is located by its JSON path; in a longer one
/// the whole `body` is named, without building the document in memory.
const LOCATE_UP_TO: usize = 64 * 1024;

/// The middleware for paths and query strings.
pub async fn refuse(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.contains("%00") || !decodes_to_utf8(path) {
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

/// Whether percent-decoding `path` gives UTF-8 (what `Path<String>` needs;
/// axum answers plain text otherwise).
fn decodes_to_utf8(path: &str) -> bool {
    if !path.contains('%') {
        return true;
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(high), Some(low)) if hex(high).is_some() && hex(low).is_some() => {
                let value = hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0);
                decoded.push(u8::try_from(value).unwrap_or(0));
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// The error for a JSON body carrying a NUL in a string or a key, naming
/// its JSON path (`input.text`, `tags[2]`), or `body` for the whole.
pub fn in_json(bytes: &[u8]) -> Option<AppError> {
    in_json_under(bytes, 0)
}

/// As `in_json`, for a body whose top level is a wrapper: server functions
/// take `{"<argument>": …}`, and name fields within their argument
/// (`idempotency_key`, not `order.idempotency_key`).
pub fn in_arguments(bytes: &[u8]) -> Option<AppError> {
    in_json_under(bytes, 1)
}

fn in_json_under(bytes: &[u8], skip: usize) -> Option<AppError> {
    if !has_nul_escape(bytes) {
        return None;
    }
    // Located only in a small body that parses; otherwise (a long body, or
    // one only a lenient typed parse would read) the whole body is refused.
    let path = (bytes.len() <= LOCATE_UP_TO)
        .then(|| serde_json::from_slice::<Value>(bytes).ok())
        .flatten()
        .and_then(|value| nul_path(&value, Vec::new()))
        .map(|path| {
            let kept = if path.len() > skip {
                &path[skip..]
            } else {
                &path[..]
            };
            join(kept)
        })
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| "body".to_owned());
    Some(AppError::InvalidField {
        field: path,
        message: MESSAGE.to_owned(),
    })
}

/// Whether the JSON text writes a NUL: a `\u0000` escape (its backslash
/// not itself escaped), or a raw NUL byte. Decided from the bytes alone, so neither a lenient parser skipping
/// an unknown field nor a document too deep to build can hide one.
fn has_nul_escape(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    let mut backslashes = 0usize;
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if byte == b'u' && backslashes % 2 == 1 && bytes.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

enum Step {
    Key(String),
    Index(usize),
}

fn join(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(&key.replace('\0', "\\u0000"));
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn nul_path(value: &Value, at: Vec<Step>) -> Option<Vec<Step>> {
    match value {
        Value::String(text) if text.contains('\0') => Some(at),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let mut here = at_plus(&at);
            here.push(Step::Index(index));
            nul_path(item, here)
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let mut here = at_plus(&at);
            here.push(Step::Key(key.clone()));
            if key.contains('\0') {
                Some(here)
            } else {
                nul_path(item, here)
            }
        }),
        _ => None,
    }
}

fn at_plus(at: &[Step]) -> Vec<Step> {
    at.iter()
        .map(|step| match step {
            Step::Key(key) => Step::Key(key.clone()),
            Step::Index(index) => Step::Index(*index),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> Option<String> {
        in_json(body.as_bytes()).and_then(|error| error.field())
    }

    #[test]
    fn a_nul_is_found_with_its_path() {
        assert_eq!(field(r#"{"name": "ok"}"#), None);
        assert_eq!(
            field(r#"{"name": "a\\u0000b"}"#),
            None,
            "an escaped backslash"
        );
        assert_eq!(field(r#"{"name": "a\\\u0000b"}"#).as_deref(), Some("name"));
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
        let argument = |body: &str| in_arguments(body.as_bytes()).and_then(|error| error.field());
        assert_eq!(
            argument(r#"{"order": {"key": "\u0000"}}"#).as_deref(),
            Some("key")
        );
        assert_eq!(argument(r#"{"name": "\u0000"}"#).as_deref(), Some("name"));
    }

    /// What a lenient typed parse skips (an unknown field with a number out
    /// of range, a lone surrogate, deep nesting) cannot hide a NUL: the
    /// body is refused whole.
    #[test]
    fn a_nul_cannot_hide_behind_what_only_a_lenient_parse_reads() {
        for body in [
            r#"{"name": "ok", "workspace": "a\u0000b", "x": 1e400}"#.to_owned(),
            r#"{"workspace": "a\u0000b", "x": "\ud800"}"#.to_owned(),
            format!(
                r#"{{"workspace": "a\u0000b", "x": {}1{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
            "{\"workspace\": \"a\u{0}b\"}".to_owned(),
        ] {
            assert!(in_json(body.as_bytes()).is_some(), "{body}");
        }
        let long = format!(r#"{{"x": "{}", "y": "\u0000"}}"#, "a".repeat(LOCATE_UP_TO));
        assert_eq!(
            in_json(long.as_bytes())
                .and_then(|error| error.field())
                .as_deref(),
            Some("body")
        );
    }

    #[test]
    fn paths_must_decode_to_utf8() {
        assert!(decodes_to_utf8("/api/v1/agents/caf%C3%A9"));
        assert!(decodes_to_utf8("/api/v1/agents/100%"));
        assert!(!decodes_to_utf8("/api/v1/agents/%FF"));
    }
}
