//! `GET /docs/api`: the API reference, redoc's rendering of
//! `/api/v1/openapi.json`. The page and its scripts are built with the web
//! app (scripts/build-web.mjs: `api-reference.html` in dist/); it gets its
//! own Content-Security-Policy, since redoc styles itself inline and runs
//! its search in a `blob:` worker, which the app's policy does not allow.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use service::ServiceError;

use crate::error::AppError;
use crate::state::AppState;

/// Its own scripts and the document, nothing from elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The API reference
///
/// A readable reference of this API, rendered in the browser from the
/// OpenAPI document.
#[utoipa::path(
    get,
    path = "/docs/api",
    tag = "public",
    operation_id = "api_reference",
    responses(
        (status = 200, description = "The reference page", body = String, content_type = "text/html"),
        (status = 404, description = "The web app (and so the page) is not built on this server",
            body = types::error::ErrorEnvelope),
    ),
    security(())
)]
pub async fn api_reference(State(state): State<AppState>) -> Response {
    let page = state.dist_dir.join("api-reference.html");
    match tokio::fs::read(&page).await {
        Ok(html) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(POLICY),
                ),
            ],
            html,
        )
            .into_response(),
        Err(cause) => {
            tracing::warn!(page = %page.display(), %cause, "the API reference is not built");
            AppError::from(ServiceError::NotFound {
                what: "API reference page (the web app is not built here; the document is at \
                       /api/v1/openapi.json)",
            })
            .into_response()
        }
    }
}
