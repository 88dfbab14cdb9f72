//! Unknown `/api/...` paths get a JSON 404, never the SPA page.

use axum::http::Uri;

use crate::error::AppError;

pub async fn api_not_found(uri: Uri) -> AppError {
    AppError::RouteNotFound(uri.path().to_owned())
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
