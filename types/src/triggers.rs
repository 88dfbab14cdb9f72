//! What runs a deployment without a person pressing Run: schedules and
//! inbound webhook URLs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a schedule does when its slot comes while its previous run is still
/// queued or running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Skip the slot (recorded as the schedule's last outcome).
    #[default]
    Skip,
    /// Start another run anyway (within the deployment's limits).
    Allow,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Allow => "allow",
        }
    }
}

/// What a schedule does about slots missed while no server was running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Fire none of them; go on from the next slot.
    #[default]
    None,
    /// Fire the last missed slot once, then go on.
    Last,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Last => "last",
        }
    }
}

/// A schedule of a deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub id: uuid::Uuid,
    pub deployment_id: uuid::Uuid,
    pub name: String,
    /// Five-field cron expression read in `time_zone`; `None` for an interval.
    pub cron: Option<String>,
    /// IANA time zone name the cron expression is read in.
    pub time_zone: String,
    /// Seconds between slots, counted from the Unix epoch; `None` for cron.
    pub every_seconds: Option<i64>,
    /// The input each run gets.
    pub input: serde_json::Value,
    pub enabled: bool,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    /// The next five slots (none while off).
    #[serde(with = "crate::timestamp::list")]
    pub upcoming: Vec<DateTime<Utc>>,
    /// The last slot handled, its run and what happened.
    #[serde(default, with = "crate::timestamp::option")]
    pub last_slot: Option<DateTime<Utc>>,
    pub last_run_id: Option<uuid::Uuid>,
    pub last_outcome: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
}

/// A new schedule: `cron` (with `time_zone`, UTC if left out) or
/// `every_seconds`, not both.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    #[serde(default)]
    pub cron: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub every_seconds: Option<i64>,
    /// The input each run gets (checked against the input schema now and at
    /// each slot); `{}` if left out.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub overlap: Option<Overlap>,
    #[serde(default)]
    pub catch_up: Option<CatchUp>,
}

/// A change to a schedule: the fields given replace the old ones. Giving
/// `cron` makes it a cron schedule, `every_seconds` an interval one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub cron: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub every_seconds: Option<i64>,
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub overlap: Option<Overlap>,
    #[serde(default)]
    pub catch_up: Option<CatchUp>,
}

/// When a cron expression or interval would fire, before saving it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SchedulePreviewRequest {
    #[serde(default)]
    pub cron: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub every_seconds: Option<i64>,
}

/// The next five slots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchedulePreview {
    #[serde(with = "crate::timestamp::list")]
    pub upcoming: Vec<DateTime<Utc>>,
}

/// How an inbound webhook URL checks its callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HookVerify {
    /// The URL's long random token is the credential.
    #[default]
    Token,
    /// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`) signed with a `whsec_` secret; five minutes'
    /// tolerance; a `webhook-id` seen before answers the same run.
    Standard,
    /// `X-Signature: sha256=<hex HMAC-SHA256 of the body>` with a shared
    /// secret (GitHub's `X-Hub-Signature-256` is taken too).
    Sha256,
}

impl HookVerify {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Standard => "standard",
            Self::Sha256 => "sha256",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "standard" => Self::Standard,
            "sha256" => Self::Sha256,
            _ => Self::Token,
        }
    }
}

/// An inbound webhook URL of a deployment (its token is never shown again).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hook {
    pub id: uuid::Uuid,
    pub deployment_id: uuid::Uuid,
    pub name: String,
    /// The URL up to its token's first characters, to recognise it by.
    pub url_prefix: String,
    pub verify: HookVerify,
    /// Request headers handed to the agent in `ctx.trigger.headers`
    /// (lower case; never `authorization`, cookies or signatures).
    pub allowed_headers: Vec<String>,
    pub per_minute: i32,
    pub max_body_bytes: i32,
    pub enabled: bool,
    #[serde(default, with = "crate::timestamp::option")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
}

/// A new inbound webhook URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewHook {
    pub name: String,
    #[serde(default)]
    pub verify: Option<HookVerify>,
    /// The signing secret the caller shares (`whsec_…` for `standard`, any
    /// 16 to 256 characters for `sha256`); made for you if left out.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub allowed_headers: Option<Vec<String>>,
    /// Requests a minute (1 to 600; 60 if left out).
    #[serde(default)]
    pub per_minute: Option<i32>,
    /// The largest body (1,024 to 1,048,576 bytes; 256 KiB if left out).
    #[serde(default)]
    pub max_body_bytes: Option<i32>,
}

/// A change to an inbound webhook URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HookChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub allowed_headers: Option<Vec<String>>,
    #[serde(default)]
    pub per_minute: Option<i32>,
    #[serde(default)]
    pub max_body_bytes: Option<i32>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A new token (and, for a signed URL, a new secret: the one given, or one
/// made).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateHook {
    #[serde(default)]
    pub secret: Option<String>,
}

/// A URL just made or rotated: the URL with its token, and the secret,
/// shown this once; a `curl` that calls it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HookWithToken {
    pub hook: Hook,
    pub url: String,
    pub secret: Option<String>,
    pub curl: String,
}
