//! `POST /api/v1/agents/{slug}/test-runs {source, manifest, input}`: runs the
//! editor's text in the real sandbox and answers the output or the error,
//! with logs, duration, fuel and memory. `POST .../try {input}` runs the
//! newest published version the same way, for anyone signed in.

use axum::Json;
use axum::extract::{Path, State};
use service::{Services, authoring};
use types::market::{RunReport, TestRunRequest};

use crate::api::body::Body;
use crate::auth::CallerOf;
use crate::error::AppError;

pub async fn create_test_run(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(request): Body<TestRunRequest>,
) -> Result<Json<RunReport>, AppError> {
    Ok(Json(
        authoring::test_run(&services, &caller.actor, &slug, request).await?,
    ))
}

#[derive(serde::Deserialize)]
pub struct TryRequest {
    #[serde(default)]
    input: String,
}

pub async fn try_agent(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Path(slug): Path<String>,
    Body(request): Body<TryRequest>,
) -> Result<Json<RunReport>, AppError> {
    Ok(Json(
        authoring::try_run(&services, &caller.actor, &slug, request.input).await?,
    ))
}
