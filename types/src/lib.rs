//! What the browser app and the server share: the DTOs of the REST API and
//! the server functions, the error clients see, newtype ids, live topics and
//! frames, and the agent manifest. Compiles to WASM; the `ssr` feature adds
//! the server-side parts (diesel conversions, the request id).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod billing;
pub mod error;
pub mod ids;
pub mod json_schema;
pub mod manifest;
#[cfg(feature = "ssr")]
pub mod request_id;
pub mod topic;

pub use ids::*;

pub mod deploy;
pub mod jobs;
pub mod market;

pub mod timestamp {
    //! Timestamps on the wire: RFC 3339 text, written by chrono and read by
    //! the small parser below, because chrono's own parser is a general
    //! format interpreter the WASM bundle would otherwise carry.

    use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        time.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an RFC 3339 timestamp"))
        })
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        let number = |from: usize, to: usize| -> Option<u32> {
            let digits = text.get(from..to)?;
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse().ok())?
        };
        let bytes = text.as_bytes();
        let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if bytes.len() < 20
            || separators.iter().any(|&(at, sep)| bytes[at] != sep)
            || !matches!(bytes[10], b'T' | b't' | b' ')
        {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(number(0, 4)?).ok()?,
            number(5, 7)?,
            number(8, 10)?,
        )?;
        let mut rest = text.get(19..)?;
        let mut nanos = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            for (i, b) in fraction.bytes().take(digits.min(9)).enumerate() {
                nanos += u32::from(b - b'0') * 10_u32.pow(8 - i as u32);
            }
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let at = text.len() - 5;
                let seconds = i64::from(number(at, at + 2)? * 3600 + number(at + 3, at + 5)? * 60);
                if *sign == b'-' { -seconds } else { seconds }
            }
            _ => return None,
        };
        let local =
            date.and_hms_nano_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?, nanos)?;
        Some((local - TimeDelta::seconds(offset_seconds)).and_utc())
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            time: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            time.serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                None => Ok(None),
                Some(text) => parse(&text).map(Some).ok_or_else(|| {
                    serde::de::Error::custom(format!("`{text}` is not an RFC 3339 timestamp"))
                }),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_what_chrono_writes_and_rfc_3339_offsets() {
            for text in [
                "2026-11-23T02:59:29.296006Z",
                "2026-11-23T02:59:29Z",
                "1999-12-31T23:59:59.123456789Z",
                "2026-03-01T01:30:00+02:00",
                "2026-02-28T23:30:00.5-01:30",
            ] {
                let expected: DateTime<Utc> =
                    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(parse(text), Some(expected), "{text}");
                assert_eq!(parse(&expected.to_rfc3339()), Some(expected));
                let json = serde_json::to_string(&expected).unwrap_or_default();
                let mut de = serde_json::Deserializer::from_str(&json);
                assert_eq!(deserialize(&mut de).ok(), Some(expected));
            }
        }

        #[test]
        fn refuses_what_is_not_a_timestamp() {
            for text in [
                "",
                "2026-11-23",
                "2026-11-23T02:59:29",
                "2026-13-23T02:59:29Z",
                "2026-11-23T25:59:29Z",
                "2026-11-23T02:59:29.Z",
                "2026-11-23T02:59:29+0200",
                "+026-11-23T02:59:29Z",
                "2026-11-23T02:59:29Zjunk",
                "2026-11-23T02:59:2éZ",
                "2026-11-23T02:59:29.éZ",
            ] {
                assert_eq!(parse(text), None, "{text}");
            }
        }
    }
}

/// Marketplace categories. The database checks the same list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Content,
    Marketing,
    Sales,
    Analytics,
    Strategy,
    Web,
    Operations,
    Support,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Content,
        Category::Marketing,
        Category::Sales,
        Category::Analytics,
        Category::Strategy,
        Category::Web,
        Category::Operations,
        Category::Support,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Category::Content => "content",
            Category::Marketing => "marketing",
            Category::Sales => "sales",
            Category::Analytics => "analytics",
            Category::Strategy => "strategy",
            Category::Web => "web",
            Category::Operations => "operations",
            Category::Support => "support",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Content => "Content",
            Category::Marketing => "Marketing",
            Category::Sales => "Sales & CRM",
            Category::Analytics => "Analytics",
            Category::Strategy => "Strategy",
            Category::Web => "Web",
            Category::Operations => "Operations",
            Category::Support => "Support",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

/// Who published an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub handle: String,
    pub display_name: String,
}

/// An agent as a marketplace card shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSummary {
    pub id: AgentId,
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub category: Category,
    pub tags: Vec<String>,
    /// A single emoji or short glyph shown when the agent has no image.
    pub icon: String,
    pub author: Author,
    pub price_credits: i64,
    /// Mean rating from 1 to 5, absent until someone rates it.
    pub rating: Option<f32>,
    pub rating_count: i32,
    /// Runs that ended (succeeded, failed or timed out) and of those the
    /// ones that succeeded, as last rolled up from the runs (every minute).
    pub runs_count: i64,
    #[serde(default)]
    pub runs_succeeded: i64,
}

/// A published version as listed on the agent page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    pub id: AgentVersionId,
    pub version: String,
    pub changelog: String,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
}

/// Everything the agent page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentDetail {
    #[serde(flatten)]
    pub agent: AgentSummary,
    /// The README as Markdown, and as sanitised HTML to show.
    pub readme: String,
    pub readme_html: String,
    pub visibility: market::Visibility,
    pub published: bool,
    /// The newest version: what deploying or trying the agent runs.
    pub latest: Option<market::LatestVersion>,
    /// Archived by its owners: off the marketplace, no new deployments or
    /// tries; running deployments go on.
    #[serde(default)]
    pub archived: bool,
    /// The last seven days, for the agent's editors only.
    #[serde(default)]
    pub usage: Option<market::AgentUsage>,
    pub forked_from: Option<market::AgentRef>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
    pub versions: Vec<VersionSummary>,
    pub viewer: market::Viewer,
}

/// A page of agents; pass `next_cursor` back as `cursor` for the next page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentPage {
    pub items: Vec<AgentSummary>,
    pub next_cursor: Option<String>,
    /// The words a search matched (as typed, completed, corrected or
    /// synonyms), lower-cased: what a card marks in its name and summary.
    #[serde(default)]
    pub matched: Vec<String>,
    /// "Did you mean": the search text with its unknown words replaced by
    /// the nearest known ones, when a search found nothing.
    #[serde(default)]
    pub suggestion: Option<String>,
}

/// Marketplace listing parameters, unvalidated: the service layer checks them
/// and names the field at fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentQuery {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Comma-separated; an agent must carry every one.
    #[serde(default)]
    pub tags: Option<String>,
    #[serde(default)]
    pub min_price: Option<i64>,
    #[serde(default)]
    pub max_price: Option<i64>,
    #[serde(default)]
    pub free: Option<bool>,
    /// `relevance` (the default with `q`), `popular` (the default without),
    /// `rating`, `newest` or `name`.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
}

pub mod live {
    //! Frames of the `/ws` protocol (see DESIGN.md, "Live events").

    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    /// The topic that carries server heartbeats.
    pub const SYSTEM_TOPIC: &str = "system";

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ClientFrame {
        Subscribe {
            topic: String,
            #[serde(default)]
            since: Option<i64>,
        },
        Unsubscribe {
            topic: String,
        },
        Ping,
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ServerFrame {
        Event {
            topic: String,
            seq: i64,
            event: serde_json::Value,
        },
        Error {
            code: String,
            message: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            topic: Option<String>,
        },
        Pong,
    }

    /// The event of the `system` topic.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum SystemEvent {
        Heartbeat {
            #[serde(with = "crate::timestamp")]
            server_time: DateTime<Utc>,
            clients: u64,
        },
    }
}

pub mod account {
    //! Accounts, sessions and workspaces as clients see them.

    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    use super::{ApiKeyId, InviteId, SessionId, UserId, WorkspaceId};

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct SignupRequest {
        pub email: String,
        pub password: String,
        pub name: String,
    }

    /// Asks for a password-reset link by mail. The answer is the same
    /// whether or not an account has the address.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct PasswordResetRequest {
        pub email: String,
    }

    /// Sets a new password with the token from a reset link; every session
    /// of the account ends and this browser is signed in.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct PasswordReset {
        pub token: String,
        pub password: String,
    }

    /// Changes the signed-in user's password; their other sessions end.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct PasswordChange {
        pub current_password: String,
        pub new_password: String,
    }

    /// Moves the account to another address, once a link sent there is
    /// followed. `password` is the current one (absent for accounts that
    /// have none, which sign in with GitHub).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct EmailChange {
        pub new_email: String,
        #[serde(default)]
        pub password: Option<String>,
    }

    /// The token from a verification link.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct EmailVerification {
        pub token: String,
    }

    /// What following a verification link did.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct EmailVerified {
        /// The account's address now (the new one, after a change).
        pub email: String,
        /// Whether the address replaced another.
        pub changed: bool,
    }

    /// A mail that was accepted for sending (the link inside is not shown).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct MailQueued {
        pub to: String,
    }

    /// A message in the local outbox (mail when no SMTP server is set),
    /// as platform administrators see it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct OutboxMail {
        /// The file's name in the outbox.
        pub id: String,
        pub to: String,
        pub subject: String,
        #[serde(with = "crate::timestamp")]
        pub written_at: DateTime<Utc>,
        /// The plain-text part.
        pub text: String,
    }

    /// Which ways of signing in this server offers.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Providers {
        pub password: bool,
        pub github: bool,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct LoginRequest {
        pub email: String,
        pub password: String,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        Viewer,
        Member,
        Admin,
        Owner,
    }

    impl Role {
        pub fn as_str(self) -> &'static str {
            match self {
                Self::Viewer => "viewer",
                Self::Member => "member",
                Self::Admin => "admin",
                Self::Owner => "owner",
            }
        }

        pub fn parse(text: &str) -> Option<Self> {
            [Self::Viewer, Self::Member, Self::Admin, Self::Owner]
                .into_iter()
                .find(|role| role.as_str() == text)
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct UserProfile {
        pub id: UserId,
        pub handle: String,
        pub display_name: String,
        pub email: Option<String>,
        pub email_verified: bool,
        /// An address the account is moving to, until its link is followed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pending_email: Option<String>,
        pub has_password: bool,
        pub github_linked: bool,
        #[serde(with = "crate::timestamp")]
        pub created_at: DateTime<Utc>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct WorkspaceSummary {
        pub id: WorkspaceId,
        pub slug: String,
        pub name: String,
        pub personal: bool,
        pub role: Role,
    }

    /// Who is signed in, where, and the token state-changing requests must
    /// echo in `x-csrf-token`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Me {
        pub user: UserProfile,
        pub workspaces: Vec<WorkspaceSummary>,
        /// Absent for API-key callers, which need none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub csrf_token: Option<String>,
    }

    /// What an API key may do. A key never does more than its owner's role
    /// in the key's workspace allows.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Scope {
        #[serde(rename = "agents:read")]
        AgentsRead,
        #[serde(rename = "agents:write")]
        AgentsWrite,
        #[serde(rename = "deployments:write")]
        DeploymentsWrite,
        /// Runs' input, output and logs, run lists, metrics, and the live
        /// deployment and run topics.
        #[serde(rename = "runs:read")]
        RunsRead,
        #[serde(rename = "runs:write")]
        RunsWrite,
        #[serde(rename = "billing:read")]
        BillingRead,
        #[serde(rename = "audit:read")]
        AuditRead,
        /// The owner's keys in this key's workspace: listing them, making
        /// keys with no more scopes and no later expiry than this one, and
        /// revoking them.
        #[serde(rename = "keys:write")]
        KeysWrite,
    }

    impl Scope {
        pub const ALL: [Self; 8] = [
            Self::AgentsRead,
            Self::AgentsWrite,
            Self::DeploymentsWrite,
            Self::RunsRead,
            Self::RunsWrite,
            Self::BillingRead,
            Self::AuditRead,
            Self::KeysWrite,
        ];

        pub fn as_str(self) -> &'static str {
            match self {
                Self::AgentsRead => "agents:read",
                Self::AgentsWrite => "agents:write",
                Self::DeploymentsWrite => "deployments:write",
                Self::RunsRead => "runs:read",
                Self::RunsWrite => "runs:write",
                Self::BillingRead => "billing:read",
                Self::AuditRead => "audit:read",
                Self::KeysWrite => "keys:write",
            }
        }

        pub fn parse(text: &str) -> Option<Self> {
            Self::ALL.into_iter().find(|scope| scope.as_str() == text)
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct CreateApiKey {
        pub name: String,
        pub scopes: Vec<Scope>,
        /// Days until it expires; absent for a key that does not expire.
        #[serde(default)]
        pub expires_in_days: Option<u32>,
        /// The workspace it acts in; the caller's personal one when absent.
        #[serde(default)]
        pub workspace: Option<WorkspaceId>,
        /// The most runs started with it may cost in a calendar month
        /// (UTC), in credits; absent for no cap.
        #[serde(default)]
        pub spend_cap_credits: Option<i64>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct ApiKeyInfo {
        pub id: ApiKeyId,
        pub name: String,
        /// The start of the token, to recognise it by.
        pub prefix: String,
        pub scopes: Vec<Scope>,
        pub workspace: WorkspaceId,
        #[serde(with = "crate::timestamp")]
        pub created_at: DateTime<Utc>,
        #[serde(default, with = "crate::timestamp::option")]
        pub last_used_at: Option<DateTime<Utc>>,
        #[serde(default, with = "crate::timestamp::option")]
        pub expires_at: Option<DateTime<Utc>>,
        #[serde(default, with = "crate::timestamp::option")]
        pub revoked_at: Option<DateTime<Utc>>,
        /// Its monthly spend cap in credits (`None`: none).
        #[serde(default)]
        pub spend_cap_credits: Option<i64>,
        /// What runs started with it cost this month (held and charged),
        /// when it has a cap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub spent_this_month: Option<i64>,
    }

    /// A device asking to be signed in (RFC 8628's device authorization
    /// request): what it calls itself and the scopes it wants.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct StartDeviceSignIn {
        /// What the device calls itself, shown on the approval page
        /// (1 to 60 printable characters).
        pub client_name: String,
        pub scopes: Vec<Scope>,
    }

    /// The codes of a device sign-in: the device keeps `device_code`
    /// secret and polls with it; the person types `user_code` at
    /// `verification_uri` (or opens `verification_uri_complete`).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct DeviceSignIn {
        pub device_code: String,
        /// `XXXX-XXXX`, consonants only.
        pub user_code: String,
        pub verification_uri: String,
        pub verification_uri_complete: String,
        /// Seconds until the codes expire.
        pub expires_in: u32,
        /// Seconds to wait between polls.
        pub interval: u32,
    }

    /// A poll of a device sign-in.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct PollDeviceSignIn {
        pub device_code: String,
    }

    /// Where a device sign-in stands, as its device sees it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    pub enum DevicePollStatus {
        /// Nobody has approved it yet: poll again after `interval`.
        Pending,
        /// Approved: `key` holds the new API key, shown this once.
        Approved,
    }

    /// The answer to a poll.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct DevicePoll {
        pub status: DevicePollStatus,
        /// Seconds to wait before the next poll.
        pub interval: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub key: Option<CreatedApiKey>,
    }

    /// A device sign-in as the person approving it sees it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct DeviceRequest {
        pub user_code: String,
        pub client_name: String,
        pub scopes: Vec<Scope>,
        /// The address the device asked from.
        pub requested_from: String,
        /// Whether that is the address the page is read from: a sign-in
        /// started elsewhere deserves a second look.
        pub from_your_address: bool,
        #[serde(with = "crate::timestamp")]
        pub created_at: DateTime<Utc>,
        #[serde(with = "crate::timestamp")]
        pub expires_at: DateTime<Utc>,
        /// `pending`, `approved`, `denied` or `used`.
        pub status: String,
    }

    /// Approving (in `workspace`, with some or all of the scopes asked
    /// for) or denying a device sign-in.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct DecideDevice {
        pub user_code: String,
        pub approve: bool,
        /// The workspace the key acts in; the personal one when absent.
        #[serde(default)]
        pub workspace: Option<WorkspaceId>,
        #[serde(default)]
        pub scopes: Vec<Scope>,
    }

    /// The answer to creating a key: the only time `token` is shown.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct CreatedApiKey {
        pub key: ApiKeyInfo,
        pub token: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct CreateTeam {
        pub name: String,
        /// URL name; derived from `name` when absent.
        #[serde(default)]
        pub slug: Option<String>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Member {
        pub user: UserId,
        pub handle: String,
        pub display_name: String,
        pub email: Option<String>,
        pub role: Role,
        #[serde(with = "crate::timestamp")]
        pub joined_at: DateTime<Utc>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct TeamDetail {
        pub workspace: WorkspaceSummary,
        pub members: Vec<Member>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct CreateInvite {
        pub email: String,
        pub role: Role,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct InviteInfo {
        pub id: InviteId,
        pub email: String,
        pub role: Role,
        pub invited_by: UserId,
        #[serde(with = "crate::timestamp")]
        pub created_at: DateTime<Utc>,
        #[serde(with = "crate::timestamp")]
        pub expires_at: DateTime<Utc>,
    }

    /// A new invitation: `link` works once, until it expires. No mail is
    /// sent; the inviter passes the link on.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct CreatedInvite {
        pub invite: InviteInfo,
        pub link: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct ChangeRole {
        pub role: Role,
    }

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct AuditEvent {
        pub id: i64,
        #[serde(with = "crate::timestamp")]
        pub occurred_at: DateTime<Utc>,
        pub action: String,
        pub actor: Option<UserId>,
        pub actor_handle: Option<String>,
        pub actor_key: Option<ApiKeyId>,
        pub target_type: String,
        pub target_id: String,
        pub ip: String,
        pub user_agent: String,
        /// What else the action recorded, as JSON (kept as text: the SPA
        /// only shows it).
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub details: Box<serde_json::value::RawValue>,
    }

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct AuditPage {
        pub items: Vec<AuditEvent>,
        pub next_cursor: Option<String>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct SessionInfo {
        pub id: SessionId,
        #[serde(with = "crate::timestamp")]
        pub created_at: DateTime<Utc>,
        #[serde(with = "crate::timestamp")]
        pub last_seen_at: DateTime<Utc>,
        #[serde(with = "crate::timestamp")]
        pub expires_at: DateTime<Utc>,
        pub ip: String,
        pub user_agent: String,
        pub current: bool,
    }
}
