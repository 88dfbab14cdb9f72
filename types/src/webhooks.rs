//! Outgoing webhooks: a workspace's endpoints, their deliveries and the
//! attempts of each, as the REST API and the Webhooks page show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The event types an endpoint may ask for.
pub const EVENT_TYPES: [&str; 6] = [
    "run.succeeded",
    "run.failed",
    "run.cancelled",
    "deployment.status",
    "credits.low",
    "agent.published",
];

/// The type of the event the "send test event" button sends.
pub const TEST_EVENT: &str = "webhook.test";

/// An endpoint: where a workspace's events go, signed with its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: uuid::Uuid,
    pub workspace: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    /// Only this deployment's events (run and deployment events).
    pub deployment_id: Option<uuid::Uuid>,
    /// Deliveries one at a time, in the order of their events.
    pub ordered: bool,
    pub enabled: bool,
    /// Why it was turned off (by a person, or after five days of failures).
    pub disabled_reason: Option<String>,
    /// Failing since then (no success after).
    #[serde(default, with = "crate::timestamp::option")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then the previous secret signs too, beside the current one.
    #[serde(default, with = "crate::timestamp::option")]
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
}

/// A new endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// `https://` (or `http://`) URL resolving to public addresses.
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// One or more of the event types.
    pub event_types: Vec<String>,
    /// Only this deployment's events.
    #[serde(default)]
    pub deployment_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub ordered: Option<bool>,
    /// The workspace (a team's slug); the caller's personal one if left out
    /// (a key's own).
    #[serde(default)]
    pub workspace: Option<String>,
}

/// A change to an endpoint: the fields given replace the old ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointChange {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// `null` leaves it; to filter no more, give `all_deployments`.
    #[serde(default)]
    pub deployment_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub all_deployments: Option<bool>,
    #[serde(default)]
    pub ordered: Option<bool>,
    /// Turning it on again clears the failure count.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint just made or whose secret was just rotated: the secret,
/// shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks).
    pub secret: String,
}

/// Rotating an endpoint's secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the old secret keeps signing beside the new one: 0 to
    /// 604,800 seconds (a week); a day if left out.
    #[serde(default)]
    pub overlap_seconds: Option<i64>,
}

/// One attempt to deliver an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    pub attempt: i32,
    #[serde(with = "crate::timestamp")]
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The answer's HTTP status; none when no answer came.
    pub status: Option<i32>,
    /// Why no answer came, or why it was refused.
    pub error: Option<String>,
    /// The answer's first 4 KB.
    pub response_body: Option<String>,
    /// The headers sent.
    pub request_headers: serde_json::Value,
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded`, `failed` (attempts used up) or `cancelled`.
    pub state: String,
    pub attempts: i32,
    #[serde(default, with = "crate::timestamp::option")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The body sent.
    pub payload: serde_json::Value,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    pub attempt_log: Vec<WebhookAttempt>,
}

/// Redelivering the failed deliveries since a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeliverFailed {
    #[serde(with = "crate::timestamp")]
    pub since: DateTime<Utc>,
}

/// How many deliveries were queued again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redelivered {
    pub queued: i64,
}
