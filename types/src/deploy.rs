//! Deployments on the wire: what the API answers and what the live topic
//! `deployment:<id>` carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::market::AgentRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Queued,
    Building,
    Starting,
    Running,
    Failed,
    Stopping,
    Stopped,
}

impl DeploymentStatus {
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Building,
        Self::Starting,
        Self::Running,
        Self::Failed,
        Self::Stopping,
        Self::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Building => "building",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether the pipeline is done with it (until someone acts again).
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Running | Self::Failed | Self::Stopped)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub id: uuid::Uuid,
    pub name: String,
    pub agent: AgentRef,
    pub version: String,
    pub workspace: String,
    pub status: DeploymentStatus,
    /// Why it failed (or stopped), in words for the user.
    pub status_reason: Option<String>,
    /// Its agent's author archived (or deleted) the agent: this deployment
    /// goes on running, but no new one of it can be made.
    #[serde(default)]
    pub agent_archived: bool,
    pub generation: i32,
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The names of its secrets; their values are never shown.
    pub secrets: Vec<String>,
    /// What a run costs its workspace, charged only when it succeeds (0:
    /// free, e.g. the workspace's own agent).
    #[serde(default)]
    pub price_credits: i64,
    /// The most its runs may cost in a calendar month (UTC), in credits;
    /// `None`: no cap. Runs past it answer 402 `spend_cap_reached`.
    #[serde(default)]
    pub spend_cap_credits: Option<i64>,
    /// What its runs cost this month so far (held and charged), when it has
    /// a cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_this_month: Option<i64>,
    /// The live topic's latest sequence number when this was read: follow
    /// `deployment:<id>` with this as `since` to miss nothing after it.
    pub event_seq: i64,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/deployments`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateDeployment {
    /// The agent's slug.
    pub agent: String,
    /// A published version; the newest when absent.
    #[serde(default)]
    pub version: Option<String>,
    /// A team's slug; the personal workspace when absent (an API key's own
    /// workspace for a key).
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    /// Stored encrypted; never shown again.
    #[serde(default)]
    pub secrets: Option<std::collections::BTreeMap<String, String>>,
}

/// `PUT /api/v1/deployments/{id}/secrets`: a value sets a secret, `null`
/// removes it; the others stay.
pub type SecretChanges = std::collections::BTreeMap<String, Option<String>>;

/// `POST /api/v1/deployments/{id}/redeploy`: another version (a rollback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redeploy {
    pub version: String,
}

/// What the topic `deployment:<id>` carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeploymentEvent {
    /// The status changed.
    Status {
        status: DeploymentStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        generation: i32,
        version: String,
        #[serde(with = "crate::timestamp")]
        at: DateTime<Utc>,
    },
    /// A line of the pipeline's own log (what it did, how long it took), or
    /// of a run's (with `run`).
    Log {
        level: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<uuid::Uuid>,
        #[serde(with = "crate::timestamp")]
        at: DateTime<Utc>,
    },
    Deleted {
        #[serde(with = "crate::timestamp")]
        at: DateTime<Utc>,
    },
    /// A run of the deployment started or finished.
    Run {
        run: uuid::Uuid,
        status: RunStatus,
        trigger: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_us: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(with = "crate::timestamp")]
        at: DateTime<Utc>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// `POST /api/v1/deployments/{id}/runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartRun {
    #[serde(default)]
    pub input: serde_json::Value,
    /// `sync` (the default: answer with the result, or 202 with the run if
    /// it takes longer than the server waits) or `async` (202 at once).
    #[serde(default)]
    pub mode: Option<String>,
}

/// Why a run failed, as the agent or the sandbox said: a deployment's run
/// and an editor's test run alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// A run whole: its summary (as lists show it) with its input, output and
/// logs. On the wire the summary's fields stand beside the others; in code
/// they are read through the summary (`run.status`, by `Deref`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub input: serde_json::Value,
    pub output: Option<serde_json::Value>,
    pub logs: Vec<serde_json::Value>,
    pub logs_truncated: bool,
    /// The language model's calls and tokens, and what they cost.
    #[serde(default)]
    pub llm: LlmUse,
}

/// A run's use of the language model: the calls, the tokens the provider
/// reported, and the credits they were charged (0 with the workspace's own
/// provider key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmUse {
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub credits: i64,
}

impl std::ops::Deref for Run {
    type Target = RunSummary;

    fn deref(&self) -> &RunSummary {
        &self.summary
    }
}

/// A run in a list (a deployment's history, the dashboard's feed): all but
/// its input, output and logs, which `GET /api/v1/runs/{id}` has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub id: uuid::Uuid,
    pub deployment_id: uuid::Uuid,
    pub status: RunStatus,
    pub trigger: String,
    pub error: Option<RunError>,
    pub duration_us: Option<i64>,
    pub fuel_used: Option<i64>,
    pub peak_memory_bytes: Option<i64>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub finished_at: Option<DateTime<Utc>>,
    /// What the run costs if it succeeds (0: free to this workspace).
    #[serde(default)]
    pub price_credits: i64,
    /// What it was charged: its price once it succeeded, else 0.
    #[serde(default)]
    pub charged_credits: i64,
}

/// `GET /api/v1/deployments/{id}/metrics?minutes=`: runs per minute, the
/// minutes with no runs left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentMetrics {
    pub minutes: i32,
    pub buckets: Vec<MetricsBucket>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsBucket {
    #[serde(with = "crate::timestamp")]
    pub minute: DateTime<Utc>,
    /// Runs that finished in this minute.
    pub runs: i64,
    /// Of those, the ones that did not succeed.
    pub failed: i64,
    pub p50_us: Option<i64>,
    pub p95_us: Option<i64>,
}

/// `PUT /api/v1/deployments/{id}/spend-cap` and
/// `PUT /api/v1/api-keys/{id}/spend-cap`: a monthly cap in credits, or
/// `null` for none.
///
/// The field must be there: a body without it (or with a misspelt one) is
/// refused rather than read as "no cap".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SpendCap {
    #[serde(deserialize_with = "Option::deserialize")]
    pub monthly_credits: Option<i64>,
}
