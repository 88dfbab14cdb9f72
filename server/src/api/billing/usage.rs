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

use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

#[derive(Deserialize)]
pub struct UsageQuery {
    workspace: Option<String>,
    days: Option<i64>,
}

pub async fn show_usage(call: Call, QueryOf(query): QueryOf<UsageQuery>) -> Reply<Usage> {
    let workspace = query.workspace.as_deref();
    let usage = ledger::usage(&call.services, &call.actor, workspace, query.days).await?;
    Ok(Json(usage))
}

#[derive(Deserialize)]
pub struct Which {
    workspace: Option<String>,
}

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
