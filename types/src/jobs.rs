//! The job queue as administrators see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Queue depth and failures, for `/admin/jobs` and `GET /api/v1/admin/jobs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueOverview {
    pub kinds: Vec<KindDepth>,
    /// The newest dead jobs first.
    pub dead: Vec<DeadJob>,
}

/// One kind of job: how many wait, run, and wait to retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindDepth {
    pub kind: String,
    /// Queued and due now.
    pub ready: i64,
    /// Queued for later: retries waiting out their backoff, or scheduled.
    pub scheduled: i64,
    pub running: i64,
    /// Queued after at least one failed attempt.
    pub retrying: i64,
    pub dead: i64,
    /// How long the oldest due job has waited, in seconds.
    pub oldest_ready_seconds: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadJob {
    pub id: i64,
    pub kind: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub died_at: DateTime<Utc>,
}
