//! Serves the built SPA from `dist/`: content-hashed assets are cached for a
//! year as immutable, and sent pre-compressed (`.br`/`.gz` written at build
//! time) when the client accepts it; `index.html` is never cached, so a deploy is picked up
//! on the next load; unknown paths get the SPA (status 404 unless they are
//! client routes), which then renders the right page.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::error::AppError;
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return AppError::MethodNotAllowed.into_response();
    }
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .and_then(|client| client.0);
    let dist = state.dist_dir.as_path();
    let is_file_path = path != "/" && !path.ends_with('/') && path != "/index.html";
    if is_file_path {
        let served = ServeDir::new(dist)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false)
            .oneshot(request)
            .await;
        if let Ok(response) = served
            && response.status() != StatusCode::NOT_FOUND
        {
            let cache = if is_hashed_asset(&path) {
                IMMUTABLE
            } else {
                NO_CACHE
            };
            let mut response = response.map(Body::new);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            return response;
        }
    }
    index(&state, dist, &path, client).await
}

/// Whether `path` is the page of one agent, version or creator: the pages
/// whose head the server fills (`share.rs`), and which answer 404 when
/// there is nothing (or nothing public) to show.
fn is_shared_page(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    matches!(
        segments.as_slice(),
        ["agents", _] | ["agents", _, "versions", _] | ["creators", _]
    )
}

async fn index(
    state: &AppState,
    dist: &Path,
    path: &str,
    client: Option<std::net::IpAddr>,
) -> Response {
    let mut status = if app::routes::is_client_route(path) || path == "/index.html" {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let head = if status == StatusCode::OK && is_shared_page(path) {
        // These pages read the database: the API's per-address budget.
        if let Err(limited) = state.limits.api(client) {
            return limited.into_response();
        }
        match crate::share::head_for(&state.services, path).await {
            Ok(Some(head)) => Some(head),
            Ok(None) => {
                status = StatusCode::NOT_FOUND;
                None
            }
            // The app still loads (it shows the error itself); robots are
            // told to come back, not that the page is gone.
            Err(error) => {
                tracing::error!(%error, path, "reading a shared page's head failed");
                status = StatusCode::SERVICE_UNAVAILABLE;
                None
            }
        }
    } else {
        None
    };
    match tokio::fs::read(dist.join("index.html")).await {
        Ok(html) => {
            // The policy is the shell's: the JSON-LD added to it is data,
            // never a script to allow.
            let policy = crate::headers::page_policy(&html);
            let html = match &head {
                Some(head) => crate::share::fill(
                    &String::from_utf8_lossy(&html),
                    head,
                    &state.services.public_url,
                )
                .into_bytes(),
                None => html,
            };
            (
                status,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE)),
                    (header::CONTENT_SECURITY_POLICY, policy),
                ],
                html,
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(%error, dist = %dist.display(), "the SPA's index.html is missing");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The web app has not been built. Run `make run`, or build it with \
                 `node scripts/build-web.mjs` and point AGENTDECK_DIST_DIR at its dist/ directory.",
            )
                .into_response()
        }
    }
}

/// The web build (scripts/build-web.mjs) names assets `name-<hash>.ext` (or
/// `_bg.wasm`) with 16 hex digits; 12 to 16 are taken, as Trunk, which
/// built it before, left out leading zeros.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    file.match_indices('-').any(|(at, _)| {
        let rest = &file[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        (12..=16).contains(&digits) && matches!(rest.as_bytes().get(digits), Some(b'.' | b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn recognises_hashed_names() {
        assert!(is_hashed_asset("/frontend-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed_asset("/frontend-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed_asset("/main-0123456789abcdef.css"));
        assert!(is_hashed_asset("/main-44fca4fac62d47e.css"));
        assert!(is_hashed_asset("/editor-ecf0c6187f511804.js"));
        assert!(!is_hashed_asset("/main-0123456789abcdef0.css"));
        assert!(!is_hashed_asset("/my-cafe.js"));
        assert!(!is_hashed_asset("/favicon.svg"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/my-file.js"));
    }
}
