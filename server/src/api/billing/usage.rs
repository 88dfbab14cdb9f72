//! `GET /api/v1/billing/usage?workspace=&days=`: paid runs by day and
//! agent (spent and earned), and `GET /api/v1/ledger.csv?workspace=`: the
//! whole ledger as a CSV download.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::Deserialize;
use service::ledger;
use types::billing::Usage;
use types::error::ErrorEnvelope;

use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

/// Which workspace, over how many days.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// A workspace's slug; the caller's own when absent (an API key's
    /// workspace, else the personal one).
    workspace: Option<String>,
    /// How many days back, today included: 1 to 366 (30 when absent).
    #[param(minimum = 1, maximum = 366)]
    days: Option<i64>,
}

/// Show usage
///
/// A workspace's paid runs of the last `days` days by day and agent: what it
/// spent, and what its own agents earned. For members and up of the
/// workspace (not viewers).
#[utoipa::path(
    get,
    path = "/billing/usage",
    tag = "billing",
    params(UsageQuery),
    responses(
        (status = 200, description = "Spent and earned by day and agent", body = Usage),
        (status = 404, description = "No such workspace, or not one of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["billing:read"]))
)]
pub async fn show_usage(call: Call, QueryOf(query): QueryOf<UsageQuery>) -> Reply<Usage> {
    let workspace = query.workspace.as_deref();
    let usage = ledger::usage(&call.services, &call.actor, workspace, query.days).await?;
    Ok(Json(usage))
}

/// Which workspace.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Which {
    /// A workspace's slug; the caller's own when absent (an API key's
    /// workspace, else the personal one).
    workspace: Option<String>,
}

/// Download the ledger as CSV
///
/// A workspace's whole ledger, newest line first, as a CSV file download
/// (streamed: a failure midway ends the file short). For members and up of
/// the workspace (not viewers).
#[utoipa::path(
    get,
    path = "/ledger.csv",
    tag = "billing",
    params(Which),
    responses(
        (status = 200, description = "The ledger, one line per row after a header row",
            body = String, content_type = "text/csv",
            headers(("Content-Disposition" = String,
                description = "`attachment` with the file's name"))),
        (status = 404, description = "No such workspace, or not one of the caller's",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["billing:read"]))
)]
pub async fn export_ledger(
    call: Call,
    QueryOf(which): QueryOf<Which>,
) -> Result<Response, AppError> {
    let (name, chunks) =
        ledger::csv(&call.services, &call.actor, which.workspace.as_deref()).await?;
    // Fused: the compression layer may poll again after the end.
    let body = axum::body::Body::from_stream(chunks.fuse().map(|chunk| {
        chunk.map_err(|error| {
            // The status is sent; the download ends short.
            tracing::error!(%error, "a ledger export failed midway");
            std::io::Error::other("the ledger export failed")
        })
    }));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
