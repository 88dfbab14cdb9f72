//! Deployments on the wire: what the API answers and what the live topic
//! `deployment:<id>` carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::market::AgentRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Deployment {
    pub id: uuid::Uuid,
    pub name: String,
    pub agent: AgentRef,
    pub version: String,
    pub workspace: String,
    pub status: DeploymentStatus,
    /// Why it failed (or stopped), in words for the user.
    pub status_reason: Option<String>,
    pub generation: i32,
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The live topic's latest sequence number when this was read: follow
    /// `deployment:<id>` with this as `since` to miss nothing after it.
    pub event_seq: i64,
    #[serde(with = "crate::model::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::model::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/deployments`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
}

/// `POST /api/v1/deployments/{id}/redeploy`: another version (a rollback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Redeploy {
    pub version: String,
}

/// What the topic `deployment:<id>` carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeploymentEvent {
    /// The status changed.
    Status {
        status: DeploymentStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        generation: i32,
        version: String,
        #[serde(with = "crate::model::timestamp")]
        at: DateTime<Utc>,
    },
    /// A line of the pipeline's own log (what it did, how long it took).
    Log {
        level: String,
        message: String,
        #[serde(with = "crate::model::timestamp")]
        at: DateTime<Utc>,
    },
    Deleted {
        #[serde(with = "crate::model::timestamp")]
        at: DateTime<Utc>,
    },
}
