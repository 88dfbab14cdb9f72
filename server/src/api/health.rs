//! `GET /healthz` (the process answers) and `GET /readyz` (and its database
//! does). Load balancers route by `/readyz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use service::Services;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

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
