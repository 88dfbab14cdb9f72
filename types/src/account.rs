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
    /// The workspace's running deployments as MCP tools at `/mcp`: listing
    /// them and calling them (each call a run, `trigger = mcp`). Nothing
    /// else: a key holding only `mcp` reads no runs and changes nothing.
    #[serde(rename = "mcp")]
    Mcp,
    /// The workspace's outgoing webhook endpoints: adding, changing and
    /// deleting them, rotating secrets, sending test events, redelivering.
    /// (Their delivery log takes `runs:read`.)
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    /// The workspace's connections: connecting accounts with keys and
    /// disconnecting them (connecting through a provider's sign-in needs a
    /// browser). Listing them takes this or `deployments:write`.
    #[serde(rename = "connections:write")]
    ConnectionsWrite,
}

impl Scope {
    pub const ALL: [Self; 11] = [
        Self::AgentsRead,
        Self::AgentsWrite,
        Self::DeploymentsWrite,
        Self::RunsRead,
        Self::RunsWrite,
        Self::BillingRead,
        Self::AuditRead,
        Self::KeysWrite,
        Self::Mcp,
        Self::WebhooksWrite,
        Self::ConnectionsWrite,
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
            Self::Mcp => "mcp",
            Self::WebhooksWrite => "webhooks:write",
            Self::ConnectionsWrite => "connections:write",
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
