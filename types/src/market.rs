//! The marketplace and authoring as clients see them: manifests, drafts,
//! versions, test runs, reviews and creator profiles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, AgentSummary, Author, Category, ReviewId, VersionSummary};
use crate::deploy::RunError;
use crate::manifest::Manifest;

/// Who may see an agent once it is published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Listed in the marketplace and in search.
    #[default]
    Public,
    /// Reachable by its link, never listed.
    Unlisted,
    /// Only members of its workspace.
    Private,
}

impl Visibility {
    pub const ALL: [Self; 3] = [Self::Public, Self::Unlisted, Self::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// Marketplace orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentSort {
    /// Best match for the search text (needs `q`).
    Relevance,
    /// Most runs first.
    Popular,
    /// Best rated first (a mean that needs several reviews to reach the top).
    Rating,
    /// Most recently published first.
    Newest,
    /// A to Z.
    Name,
}

impl AgentSort {
    pub const ALL: [Self; 5] = [
        Self::Relevance,
        Self::Popular,
        Self::Rating,
        Self::Newest,
        Self::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::Popular => "popular",
            Self::Rating => "rating",
            Self::Newest => "newest",
            Self::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Relevance => "Best match",
            Self::Popular => "Most runs",
            Self::Rating => "Top rated",
            Self::Newest => "Newest",
            Self::Name => "Name",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A short reference to an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRef {
    pub id: AgentId,
    pub slug: String,
    pub name: String,
}

/// The published version an agent page and deployments use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestVersion {
    pub version: String,
    pub manifest: Manifest,
    pub example_input: String,
}

/// An agent's last seven days, for its creators (rolled up from the runs
/// every minute).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentUsage {
    /// Deployments with at least one run in the seven days.
    pub weekly_active_deployments: i64,
    pub runs_this_week: i64,
    pub succeeded_this_week: i64,
}

/// What the caller may do on an agent page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Viewer {
    pub signed_in: bool,
    /// Member of the agent's workspace with the right to edit and publish.
    pub can_edit: bool,
    /// Signed in, not the agent's author, and the agent is published.
    pub can_review: bool,
    pub my_review: Option<Review>,
    /// May read the source (and fork it).
    #[serde(default)]
    pub can_read_source: bool,
    /// Free tries of this paid agent the caller has left.
    #[serde(default)]
    pub free_tries_left: u32,
}

/// One user's review, and the author's reply if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub id: ReviewId,
    pub author: Author,
    /// 1 to 5 stars.
    pub rating: u8,
    pub body: String,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
    pub reply: Option<ReviewReply>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewReply {
    pub body: String,
    #[serde(with = "crate::timestamp")]
    pub replied_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewPage {
    pub items: Vec<Review>,
    pub next_cursor: Option<String>,
    /// How many reviews gave 1, 2, 3, 4 and 5 stars.
    pub histogram: [i64; 5],
}

/// Writing or editing one's review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewInput {
    pub rating: i64,
    #[serde(default)]
    pub body: String,
}

/// The author's one reply to a review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyInput {
    pub body: String,
}

/// The listing part of a draft, applied to the agent when it is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing {
    pub name: String,
    pub summary: String,
    pub category: Category,
    pub tags: Vec<String>,
    pub icon: String,
    pub price_credits: i64,
}

/// The editor's working copy of an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Draft {
    pub agent: AgentRef,
    pub listing: Listing,
    pub readme: String,
    pub source: String,
    pub manifest: Manifest,
    /// JSON text the test-run panel starts with.
    pub example_input: String,
    /// Increases with every save; a save based on an older one is refused.
    pub revision: i64,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
    pub visibility: Visibility,
    pub published: bool,
    /// A paid agent's source shown to everyone (and forkable).
    #[serde(default)]
    pub source_public: bool,
    /// Free tries of a paid agent per user.
    #[serde(default)]
    pub free_tries: u32,
    pub versions: Vec<VersionSummary>,
    /// Where the script does not parse, as of this revision.
    pub diagnostics: Vec<Diagnostic>,
}

/// A draft to save over `revision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftChanges {
    pub revision: i64,
    pub listing: Listing,
    pub readme: String,
    pub source: String,
    pub manifest: Manifest,
    pub example_input: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftSaved {
    pub revision: i64,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A problem in the source, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Run a script (the editor's current text) against an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestRunRequest {
    pub source: String,
    pub manifest: Manifest,
    /// JSON text.
    pub input: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunLog {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    pub at_ms: u64,
}

/// What a test run produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunReport {
    /// The output JSON, pretty-printed, when the run succeeded.
    pub output: Option<String>,
    pub error: Option<RunError>,
    pub logs: Vec<RunLog>,
    pub logs_truncated: bool,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    /// The language model's use, charged to the caller.
    #[serde(default)]
    pub llm: crate::deploy::LlmUse,
    /// What a try of a paid agent was charged (0 when free).
    #[serde(default)]
    pub charged_credits: i64,
    /// Where the output does not meet the agent's output schema (said,
    /// not refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_problems: Vec<crate::json_schema::Violation>,
}

/// Publish the saved draft as a new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishRequest {
    /// `MAJOR.MINOR.PATCH`, above every earlier version.
    pub version: String,
    #[serde(default)]
    pub changelog: String,
    /// The draft revision the author saw; refused if the draft moved on.
    #[serde(default)]
    pub revision: Option<i64>,
}

/// One published version in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionDetail {
    pub agent: AgentRef,
    pub version: String,
    pub changelog: String,
    /// None where the caller may not read it: a paid agent's source is its
    /// workspace's unless its author made it public.
    pub source: Option<String>,
    pub manifest: Manifest,
    pub readme_html: String,
    pub example_input: String,
    /// SHA-256 of the source.
    pub content_hash: String,
    pub published_by: Author,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
}

/// Change who sees an agent, or take it off the marketplace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSettings {
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// `false` unpublishes (versions are kept); `true` lists it again.
    #[serde(default)]
    pub published: Option<bool>,
    /// Show a paid agent's source to everyone (and let them fork it).
    #[serde(default)]
    pub source_public: Option<bool>,
    /// Free tries of a paid agent per user (0 to 100).
    #[serde(default)]
    pub free_tries: Option<u32>,
    /// `true` archives (off the marketplace, no new deployments or tries;
    /// running deployments go on); `false` brings it back.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// Start a new agent from a template or a fork.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateAgent {
    pub name: String,
    /// URL name; derived from `name` when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Workspace slug (a team); the caller's personal workspace when absent.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Template id from `GET /api/v1/templates`.
    #[serde(default)]
    pub template: Option<String>,
    /// Slug of a visible published agent to copy.
    #[serde(default)]
    pub fork_of: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// An agent the caller can edit, for the editor's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnAgent {
    pub agent: AgentRef,
    pub icon: String,
    pub workspace: String,
    pub latest_version: Option<String>,
    pub published: bool,
    pub visibility: Visibility,
    #[serde(default)]
    pub archived: bool,
    #[serde(with = "crate::timestamp")]
    pub draft_updated_at: DateTime<Utc>,
}

/// A creator's public page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatorProfile {
    pub author: Author,
    #[serde(with = "crate::timestamp")]
    pub joined_at: DateTime<Utc>,
    pub agents: Vec<AgentSummary>,
    pub total_runs: i64,
}
