//! Web embeds: a deployment on another website, as a chat bubble or an
//! inline form, framed only by the origins its owner allows. The owner's
//! side (settings, the snippet, numbers by day) and the visitor's (a
//! session, messages, the conversation).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a visitor types into: chat text, or a form made from the agent's
/// input schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EmbedInput {
    /// Each message is a run with input `{"message": "<text>"}`; the
    /// earlier ones are the agent's `ctx.conversation`.
    #[default]
    Chat,
    /// A form made from the agent's input schema; each submission is a run.
    Form,
}

impl EmbedInput {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Form => "form",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "form" {
            Self::Form
        } else {
            Self::Chat
        }
    }
}

/// How the embed sits on the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EmbedMode {
    /// A round launcher in a corner that opens a panel.
    #[default]
    Bubble,
    /// The frame in the page, where the snippet is (or `data-target`).
    Inline,
}

/// The corner a bubble sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EmbedPosition {
    #[default]
    #[serde(rename = "bottom-right")]
    BottomRight,
    #[serde(rename = "bottom-left")]
    BottomLeft,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EmbedTheme {
    #[default]
    Light,
    Dark,
}

/// The look of an embed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmbedLook {
    #[serde(default)]
    pub mode: EmbedMode,
    #[serde(default)]
    pub position: EmbedPosition,
    /// The accent colour, `#rrggbb`.
    #[serde(default = "default_color")]
    pub color: String,
    #[serde(default)]
    pub theme: EmbedTheme,
    /// The panel's title (1 to 60 characters).
    #[serde(default = "default_title")]
    pub title: String,
    /// The first message a visitor sees (at most 500 characters).
    #[serde(default)]
    pub greeting: Option<String>,
}

fn default_color() -> String {
    "#4f46e5".to_owned()
}

fn default_title() -> String {
    "Ask our assistant".to_owned()
}

impl Default for EmbedLook {
    fn default() -> Self {
        Self {
            mode: EmbedMode::default(),
            position: EmbedPosition::default(),
            color: default_color(),
            theme: EmbedTheme::default(),
            title: default_title(),
            greeting: None,
        }
    }
}

/// An embed's settings: what `POST /api/v1/deployments/{id}/embeds` makes
/// and `PUT /api/v1/deployments/{id}/embeds/{embed}` replaces. Left out,
/// a field takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmbedSettings {
    pub name: String,
    /// The sites that may show it: `https://shop.example.com` (exactly),
    /// `https://*.example.com` (its subdomains); with `development`, also
    /// `http://localhost`, `http://localhost:<port>` or `http://localhost:*`
    /// (and the same for `127.0.0.1`). 1 to 20.
    pub allowed_origins: Vec<String>,
    /// Allows `http://localhost` origins, for trying it on one's machine.
    #[serde(default)]
    pub development: bool,
    #[serde(default)]
    pub input: EmbedInput,
    #[serde(default)]
    pub look: EmbedLook,
    /// Messages one visitor may send a minute (1 to 60; default 6).
    #[serde(default = "default_per_visitor_minute")]
    pub per_visitor_minute: i32,
    /// Messages one visitor may send a day (1 to 10,000; default 100).
    #[serde(default = "default_per_visitor_day")]
    pub per_visitor_day: i32,
    /// Messages all visitors together may send a minute (1 to 6,000;
    /// default 120).
    #[serde(default = "default_per_embed_minute")]
    pub per_embed_minute: i32,
    /// The most its runs may cost in a UTC day, in credits (price and
    /// model tokens); `None`: no daily cap (the deployment's monthly cap
    /// and the wallet still apply).
    #[serde(default)]
    pub daily_cap_credits: Option<i64>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_per_visitor_minute() -> i32 {
    6
}

fn default_per_visitor_day() -> i32 {
    100
}

fn default_per_embed_minute() -> i32 {
    120
}

fn default_enabled() -> bool {
    true
}

/// An embed of a deployment, as its workspace sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Embed {
    /// `emb_` and 32 hex digits: the `data-embed` of the snippet.
    pub id: String,
    pub deployment_id: uuid::Uuid,
    #[serde(flatten)]
    pub settings: EmbedSettings,
    /// The snippet to paste into a page.
    pub snippet: String,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// An embed just made, or its secret just rotated: the secret that signs
/// `user` claims, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedWithSecret {
    pub embed: Embed,
    /// `embsec_` and 43 base64url characters. A site signs a user claim
    /// `<user id>.<expiry, Unix seconds>.<hex HMAC-SHA256 of the two joined
    /// by a dot>` with it and passes it as `data-user`.
    pub secret: String,
}

/// An embed's numbers on one UTC day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedDay {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub day: NaiveDate,
    /// Frames opened (visitor sessions started).
    pub views: i64,
    pub runs: i64,
    /// Runs that failed, timed out or were cancelled.
    pub failures: i64,
    /// Credits its runs cost (price and model tokens; held for runs in
    /// flight).
    pub spent_credits: i64,
}

/// `GET /api/v1/deployments/{id}/embeds/{embed}/stats`: the last `days`
/// days, oldest first, and their totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedStats {
    pub days: Vec<EmbedDay>,
    pub views: i64,
    pub runs: i64,
    pub failures: i64,
    pub spent_credits: i64,
    /// What today's runs cost so far, against `daily_cap_credits`.
    pub spent_today: i64,
}

/// `POST /embed/{id}/session`: the frame opens a visitor's session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenSession {
    /// The visitor's random id, kept in the frame's own storage: 16 to 64
    /// characters of `A-Z a-z 0-9 _ -`.
    pub visitor: String,
    /// The origin of the page the snippet is on, as the launcher saw it.
    pub page_origin: String,
    /// A signed claim from the site's backend (see `EmbedWithSecret`).
    #[serde(default)]
    pub user: Option<String>,
}

/// What the frame shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorEmbed {
    pub title: String,
    pub greeting: Option<String>,
    pub look: VisitorLook,
    pub input: EmbedInput,
    /// The agent's input schema, for a form.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub input_schema: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorLook {
    pub mode: EmbedMode,
    pub position: EmbedPosition,
    pub color: String,
    pub theme: EmbedTheme,
}

/// A visitor's session: the token the frame's later calls (and its live
/// socket) carry, what to show, and the conversation so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorSession {
    /// `Authorization: Bearer <token>` for the messages endpoints; the
    /// live socket takes it as its second subprotocol
    /// (`["agentdeck.visitor", token]`).
    pub token: String,
    #[serde(with = "crate::timestamp")]
    pub expires_at: DateTime<Utc>,
    pub embed: VisitorEmbed,
    pub messages: Vec<EmbedMessage>,
}

/// `POST /embed/{id}/messages`: `text` for a chat, `input` for a form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub input: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    User,
    Assistant,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One message of a conversation: the visitor's, or the agent's answer
/// (its run's output; `error` when the run did not succeed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedMessage {
    pub id: String,
    pub role: MessageRole,
    pub text: String,
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
    pub run: Option<uuid::Uuid>,
    pub status: Option<crate::deploy::RunStatus>,
    pub error: Option<String>,
}

/// A message sent: its run, and the visitor's message as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSent {
    pub run: uuid::Uuid,
    pub messages: Vec<EmbedMessage>,
}

/// `GET /embed/{id}/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub messages: Vec<EmbedMessage>,
}
