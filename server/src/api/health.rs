//! `GET /healthz` (the process answers) and `GET /readyz` (and its database
//! does). Load balancers route by `/readyz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use service::Services;

/// Check the process
///
/// Answers as long as the process does (liveness); it reads nothing.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "public",
    operation_id = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Object)),
    security(())
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Check the process and its database
///
/// Readiness: whether the database answers too. Load balancers route by it.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "public",
    operation_id = "readiness",
    responses(
        (status = 200, description = "`{\"status\": \"ready\", \"database\": \"ok\"}`",
            body = Object),
        (status = 503, description = "`{\"status\": \"unavailable\", \"database\": \
            \"unreachable\"}`", body = Object),
    ),
    security(())
)]
pub async fn readyz(State(services): State<Services>) -> (StatusCode, Json<Value>) {
    match crate::db::is_ready(&services.db).await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok" })),
        ),
        Err(cause) => {
            tracing::warn!(%cause, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
