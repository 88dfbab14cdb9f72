//! `POST /api/v1/agents/{slug}/test-runs {source, manifest, input}`: runs the
//! editor's text in the real sandbox and answers the output or the error,
//! with logs, duration, fuel and memory. `POST .../try {input}` runs the
//! newest published version the same way, for anyone signed in.

use axum::Json;
use axum::extract::Path;
use service::authoring;
use types::error::ErrorEnvelope;
use types::market::{RunReport, TestRunRequest};

use crate::api::body::Body;
use crate::api::extract::{Call, Reply};

/// Test-run the editor's text
///
/// Runs the given script and manifest once in the real sandbox, with empty
/// storage and no config or secrets, and answers the output or the error
/// with logs and usage. For members of the agent's workspace.
#[utoipa::path(
    post,
    path = "/agents/{slug}/test-runs",
    tag = "authoring",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = TestRunRequest,
    responses((
        status = 200,
        description = "The run's report: its output, or the error the script met",
        body = RunReport
    )),
    security(("bearer" = ["agents:write"]))
)]
pub async fn create_test_run(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<TestRunRequest>,
) -> Reply<RunReport> {
    Ok(Json(
        authoring::test_run(&call.services, &call.actor, &slug, request).await?,
    ))
}

/// A try's input.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct TryRequest {
    /// The input, as JSON text; empty for `null`.
    #[serde(default)]
    input: String,
}

/// Try an agent
///
/// Runs the agent's newest published version once with the caller's input,
/// empty storage and no config. A paid agent's try costs its price once the
/// author's free tries are used; a failed try costs nothing.
#[utoipa::path(
    post,
    path = "/agents/{slug}/try",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = TryRequest,
    responses(
        (status = 200, description = "The run's report: its output, or the error the agent met",
            body = RunReport),
        (status = 402, description = "Too few credits for the try's price, or a spend cap \
            is reached", body = ErrorEnvelope),
        (status = 409, description = "The agent is archived, or has no published version",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["runs:write"]))
)]
pub async fn try_agent(
    call: Call,
    Path(slug): Path<String>,
    Body(request): Body<TryRequest>,
) -> Reply<RunReport> {
    Ok(Json(
        authoring::try_run(&call.services, &call.actor, &slug, request.input).await?,
    ))
}
