//! `GET /api/v1/billing/usage?workspace=&days=`: paid runs by day and
//! agent (spent and earned), and `GET /api/v1/ledger.csv?workspace=`: the
//! whole ledger as a CSV download.

use app::model::billing::Usage;
use app::service::{Services, ledger};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::CallerOf;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct UsageQuery {
    workspace: Option<String>,
    days: Option<String>,
}

pub async fn show_usage(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Query(query): Query<UsageQuery>,
) -> Result<Json<Usage>, AppError> {
    let days = query
        .days
        .map(|days| {
            days.trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid("days", "must be a whole number from 1 to 366"))
        })
        .transpose()?;
    Ok(Json(
        ledger::usage(&services, &caller.actor, query.workspace.as_deref(), days).await?,
    ))
}

#[derive(Deserialize)]
pub struct Which {
    workspace: Option<String>,
}

pub async fn export_ledger(
    State(services): State<Services>,
    CallerOf(caller): CallerOf,
    Query(which): Query<Which>,
) -> Result<Response, AppError> {
    let (name, text) = ledger::csv(&services, &caller.actor, which.workspace.as_deref()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        text,
    )
        .into_response())
}
