//! Marketplace listing and agent pages.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::auth::Actor;
use super::schema::{agent_versions, agents, users};
use super::{ServiceError, Services};
use crate::model::account::Scope;
use crate::model::{
    AgentDetail, AgentId, AgentPage, AgentQuery, AgentSummary, AgentVersionId, Author, Category,
    VersionSummary,
};

pub const DEFAULT_LIMIT: i64 = 24;
pub const MAX_LIMIT: i64 = 100;
/// Longer search text is rejected rather than silently cut.
pub const MAX_QUERY_CHARS: usize = 200;
const MAX_CURSOR_BYTES: usize = 512;
const MAX_SLUG_CHARS: usize = 64;

define_sql_function! {
    /// SQL `lower`: the marketplace sorts names without regard to case.
    #[sql_name = "lower"]
    fn lower_text(text: Text) -> Text;
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = agents)]
struct AgentRow {
    id: Uuid,
    slug: String,
    name: String,
    summary: String,
    category: String,
    tags: Vec<String>,
    icon: String,
    price_credits: i64,
    rating_total: i64,
    rating_count: i32,
    runs_count: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct AuthorRow {
    handle: String,
    display_name: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = agents)]
struct AgentPageRow {
    readme: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_versions)]
struct VersionRow {
    id: Uuid,
    version: String,
    changelog: String,
    created_at: DateTime<Utc>,
}

impl AgentRow {
    fn into_summary(self, author: AuthorRow) -> Result<AgentSummary, ServiceError> {
        let category = Category::from_slug(&self.category).ok_or_else(|| {
            anyhow::anyhow!(
                "agent {} has unknown category {:?}",
                self.slug,
                self.category
            )
        })?;
        let rating =
            (self.rating_count > 0).then(|| self.rating_total as f32 / self.rating_count as f32);
        Ok(AgentSummary {
            id: AgentId(self.id),
            slug: self.slug,
            name: self.name,
            summary: self.summary,
            category,
            tags: self.tags,
            icon: self.icon,
            author: Author {
                handle: author.handle,
                display_name: author.display_name,
            },
            price_credits: self.price_credits,
            rating,
            rating_count: self.rating_count,
            runs_count: self.runs_count,
        })
    }
}

/// A validated listing request.
#[derive(Debug)]
struct Listing {
    q: Option<String>,
    category: Option<Category>,
    limit: i64,
    after: Option<Cursor>,
}

impl Listing {
    fn parse(query: AgentQuery) -> Result<Self, ServiceError> {
        let q = query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        if let Some(q) = &q
            && q.chars().count() > MAX_QUERY_CHARS
        {
            return Err(ServiceError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let category = match query.category.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(slug) => Some(Category::from_slug(slug).ok_or_else(|| {
                let known: Vec<_> = Category::ALL.iter().map(|c| c.slug()).collect();
                ServiceError::invalid("category", format!("must be one of {}", known.join(", ")))
            })?),
        };
        let limit = match query.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(_) => return Err(invalid_limit()),
        };
        let after = match query.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(Cursor::decode(cursor)?),
        };
        Ok(Self {
            q,
            category,
            limit,
            after,
        })
    }
}

pub fn invalid_limit() -> ServiceError {
    ServiceError::invalid("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
}

/// Position after the last agent of a page, in the listing's order (name, id).
#[derive(Debug, PartialEq)]
struct Cursor {
    name: String,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.id, self.name))
    }

    fn decode(text: &str) -> Result<Self, ServiceError> {
        let invalid = || ServiceError::invalid("cursor", "is not a cursor this API returned");
        if text.len() > MAX_CURSOR_BYTES {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (id, name) = text.split_once('\n').ok_or_else(invalid)?;
        Ok(Self {
            id: id.parse().map_err(|_| invalid())?,
            name: name.to_owned(),
        })
    }
}

/// `text` with LIKE's wildcards (and the escape character) escaped.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Lists public agents, filtered and paginated.
pub async fn list(
    services: &Services,
    actor: &Actor,
    query: AgentQuery,
) -> Result<AgentPage, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let listing = Listing::parse(query)?;
    let mut conn = services.conn().await?;

    let mut select = agents::table
        .inner_join(users::table)
        .filter(agents::visibility.eq("public"))
        .select((AgentRow::as_select(), AuthorRow::as_select()))
        .order((lower_text(agents::name).asc(), agents::id.asc()))
        .limit(listing.limit + 1)
        .into_boxed();
    if let Some(q) = &listing.q {
        let pattern = format!("%{}%", escape_like(q));
        let matches_text = sql::<Bool>("agents.search @@ websearch_to_tsquery('english', ")
            .bind::<Text, _>(q.clone())
            .sql(")");
        select = select.filter(
            matches_text
                .or(agents::name.ilike(pattern.clone()))
                .or(agents::summary.ilike(pattern.clone()))
                .or(sql::<Bool>("array_to_string(agents.tags, ' ') ILIKE ")
                    .bind::<Text, _>(pattern)),
        );
    }
    if let Some(category) = listing.category {
        select = select.filter(agents::category.eq(category.slug()));
    }
    if let Some(after) = &listing.after {
        let key = || lower_text(after.name.clone());
        select = select.filter(
            lower_text(agents::name)
                .gt(key())
                .or(lower_text(agents::name)
                    .eq(key())
                    .and(agents::id.gt(after.id))),
        );
    }

    let mut rows: Vec<(AgentRow, AuthorRow)> = select.load(&mut conn).await?;
    let has_more = rows.len() as i64 > listing.limit;
    rows.truncate(listing.limit as usize);
    let next_cursor = has_more.then(|| rows.last()).flatten().map(|(agent, _)| {
        Cursor {
            name: agent.name.clone(),
            id: agent.id,
        }
        .encode()
    });
    let items = rows
        .into_iter()
        .map(|(agent, author)| agent.into_summary(author))
        .collect::<Result<_, _>>()?;
    Ok(AgentPage { items, next_cursor })
}

/// The agent page for `slug`. Private agents are reported as missing.
pub async fn by_slug(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<AgentDetail, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let not_found = ServiceError::NotFound { what: "agent" };
    if slug.is_empty() || slug.chars().count() > MAX_SLUG_CHARS {
        return Err(not_found);
    }
    let mut conn = services.conn().await?;
    let Some((agent, author, page)) = agents::table
        .inner_join(users::table)
        .filter(agents::slug.eq(slug))
        .filter(agents::visibility.ne("private"))
        .select((
            AgentRow::as_select(),
            AuthorRow::as_select(),
            AgentPageRow::as_select(),
        ))
        .first::<(AgentRow, AuthorRow, AgentPageRow)>(&mut conn)
        .await
        .optional()?
    else {
        return Err(not_found);
    };
    let versions: Vec<VersionRow> = agent_versions::table
        .filter(agent_versions::agent_id.eq(agent.id))
        .order((
            agent_versions::version_major.desc(),
            agent_versions::version_minor.desc(),
            agent_versions::version_patch.desc(),
        ))
        .select(VersionRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(AgentDetail {
        agent: agent.into_summary(author)?,
        readme: page.readme,
        created_at: page.created_at,
        updated_at: page.updated_at,
        versions: versions
            .into_iter()
            .map(|v| VersionSummary {
                id: AgentVersionId(v.id),
                version: v.version,
                changelog: v.changelog,
                created_at: v.created_at,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_names_with_any_text() {
        let cursor = Cursor {
            name: "SEO Specialist\nwith newline".into(),
            id: Uuid::from_u128(7),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn bad_cursor_names_the_field() {
        for text in ["not base64!", "aGVsbG8", &"x".repeat(600)] {
            match Cursor::decode(text) {
                Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "cursor"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn limit_must_be_in_range() {
        for limit in [0, -1, MAX_LIMIT + 1] {
            let query = AgentQuery {
                limit: Some(limit),
                ..AgentQuery::default()
            };
            match Listing::parse(query) {
                Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "limit"),
                other => panic!("{limit}: {other:?}"),
            }
        }
        let parsed = Listing::parse(AgentQuery::default()).unwrap();
        assert_eq!(parsed.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn long_search_text_is_rejected_and_blank_ignored() {
        let long = AgentQuery {
            q: Some("a".repeat(MAX_QUERY_CHARS + 1)),
            ..AgentQuery::default()
        };
        assert!(matches!(
            Listing::parse(long),
            Err(ServiceError::Invalid { field: "q", .. })
        ));
        let blank = AgentQuery {
            q: Some("   ".into()),
            ..AgentQuery::default()
        };
        assert_eq!(Listing::parse(blank).unwrap().q, None);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
