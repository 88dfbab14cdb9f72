//! Security headers on every response: no page of ours may be framed by
//! another site (clickjacking on keys, deploys, checkout), no response is
//! sniffed into another type, no address leaves in `Referer`, and every
//! response carries a `Content-Security-Policy`. The SPA's page gets one
//! that lets it run (its own scripts, its start script by hash, WebAssembly);
//! everything else, JSON included, gets one that lets nothing run.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::state::AppState;

/// For every response that is not the SPA's page: nothing loads, nothing
/// frames it.
pub const LOCKED_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Put on a response that other sites may frame: its own
/// `Content-Security-Policy: frame-ancestors` says which (an embed's frame).
#[derive(Clone, Copy, Debug)]
pub struct Frameable;

/// Adds the headers a handler did not set itself.
pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let frameable = response.extensions().get::<Frameable>().is_some();
    let headers = response.headers_mut();
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(LOCKED_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if frameable {
        headers.remove(X_FRAME_OPTIONS);
    } else {
        headers
            .entry(X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
    }
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.cookies.secure {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The policy of the SPA's page `html`: scripts from this origin and the
/// page's own inline start script (by its hash, so no other inline script
/// runs, injected or not), WebAssembly compiled from this origin's modules,
/// images also from `https:` and `data:` (READMEs show pictures), styles
/// from this origin and inline (the code editor writes its own), and
/// connections (fetch, the live WebSocket) to this origin only.
pub fn page_policy(html: &[u8]) -> HeaderValue {
    let hashes: String = inline_scripts(&String::from_utf8_lossy(html))
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(LOCKED_POLICY))
}

/// The text of each `<script>` element without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.match_indices("<script").filter_map(|(start, _)| {
        let open_end = start + html[start..].find('>')?;
        let attributes = &html[start + "<script".len()..open_end];
        let body_end = open_end + 1 + html[open_end + 1..].find("</script>")?;
        (!attributes.contains("src=")).then(|| &html[open_end + 1..body_end])
    })
}

#[cfg(test)]
mod tests {
    use super::{inline_scripts, page_policy};

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<head><script type="module">import init from "/a.js";await init();</script>
            <script src="/b.js"></script><script>x()</script></head>"#;
        let scripts: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(scripts, ["import init from \"/a.js\";await init();", "x()"]);
        let policy = page_policy(html.as_bytes());
        let policy = policy.to_str().expect("ascii");
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        // The hash of `x()`, as `openssl dgst -sha256 -binary | base64` gives.
        assert!(
            policy.contains("'sha256-D6IGS8VMvCoyaR/l0h9tERrBTATY01CoPS7l6xDv0kI='"),
            "{policy}"
        );
    }
}
