//! What the browser app and the server share: the DTOs of the REST API and
//! the server functions, the error clients see, newtype ids, live topics and
//! frames, and the agent manifest. Compiles to WASM; the `ssr` feature adds
//! the server-side parts (diesel conversions, the request id).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod account;
pub mod billing;
pub mod connection;
pub mod embed;
pub mod error;
pub mod ids;
pub mod json_schema;
pub mod manifest;
pub mod oauth;
#[cfg(feature = "ssr")]
pub mod request_id;
pub mod topic;
pub mod triggers;
pub mod webhooks;

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

    pub mod list {
        use super::*;

        pub fn serialize<S: Serializer>(
            times: &[DateTime<Utc>],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            times.serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<DateTime<Utc>>, D::Error> {
            Vec::<String>::deserialize(deserializer)?
                .into_iter()
                .map(|text| {
                    parse(&text).ok_or_else(|| {
                        serde::de::Error::custom(format!("`{text}` is not an RFC 3339 timestamp"))
                    })
                })
                .collect()
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
