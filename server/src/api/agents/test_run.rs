//! `POST /api/v1/agents/{slug}/test-runs {source, manifest, input}`: runs the
//! editor's text in the real sandbox and answers the output or the error,
//! with logs, duration, fuel and memory. `POST .../try {input}` runs the
//! newest published version the same way, for anyone signed in.

use axum::Json;
use axum::extract::Path;
use service::authoring;
use types::market::{RunReport, TestRunRequest};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

pub async fn create_test_run(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<TestRunRequest>,
) -> Reply<RunReport> {
    Ok(Json(
        authoring::test_run(&call.services, &call.actor, &slug, request).await?,
    ))
}

#[derive(serde::Deserialize)]
pub struct TryRequest {
    #[serde(default)]
    input: String,
}

pub async fn try_agent(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<TryRequest>,
) -> Reply<RunReport> {
    Ok(Json(
        authoring::try_run(&call.services, &call.actor, &slug, request.input).await?,
    ))
}
