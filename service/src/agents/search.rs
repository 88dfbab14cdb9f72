//! The marketplace listing: filters, sorts, typo-tolerant search over the
//! public agents, and the opaque cursor of its pages. (Past 600 lines only
//! with its unit tests: the code is the one listing query and its inputs.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::words::{self, Meaning, Unit};
use crate::actor::Actor;
use crate::{ServiceError, Services};
use types::account::Scope;
use types::market::AgentSort;
use types::{AgentId, AgentPage, AgentQuery, AgentSummary, Author, Category};

pub const DEFAULT_LIMIT: i64 = 24;
pub const MAX_LIMIT: i64 = 100;
/// Longer search text is rejected rather than silently cut.
pub const MAX_QUERY_CHARS: usize = 200;
pub(super) const MAX_CURSOR_BYTES: usize = 512;
pub(super) const MAX_FILTER_TAGS: usize = 10;
/// The most matches a search ranks (see `list`).
pub(super) const SEARCH_CANDIDATES: i64 = 500;
/// How much of the search text a name's likeness to it is measured on.
const LIKENESS_CHARS: usize = 32;
/// One card of the listing, with the value it was sorted by (as text, so a
/// cursor can carry any sort's key exactly).
#[derive(QueryableByName)]
pub(super) struct CardRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    summary: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Array<Text>)]
    tags: Vec<String>,
    #[diesel(sql_type = Text)]
    icon: String,
    #[diesel(sql_type = BigInt)]
    price_credits: i64,
    #[diesel(sql_type = BigInt)]
    rating_total: i64,
    #[diesel(sql_type = Integer)]
    rating_count: i32,
    #[diesel(sql_type = BigInt)]
    runs_count: i64,
    #[diesel(sql_type = BigInt)]
    runs_succeeded: i64,
    #[diesel(sql_type = Text)]
    handle: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    sort_key: String,
}

/// The columns every card needs, in `CardRow`'s names.
pub(super) const CARD_COLUMNS: &str = "a.id, a.slug, a.name, a.summary, a.category, a.tags, a.icon, \
     a.price_credits, a.rating_total, a.rating_count, a.runs_count, a.runs_succeeded, u.handle, \
     u.display_name";

impl CardRow {
    pub(super) fn into_summary(self) -> Result<AgentSummary, ServiceError> {
        summary(
            self.id,
            self.slug,
            self.name,
            self.summary,
            &self.category,
            self.tags,
            self.icon,
            self.price_credits,
            (self.rating_total, self.rating_count),
            (self.runs_count, self.runs_succeeded),
            Author {
                handle: self.handle,
                display_name: self.display_name,
            },
        )
    }
}

#[expect(clippy::too_many_arguments, reason = "one card's columns")]
pub(super) fn summary(
    id: Uuid,
    slug: String,
    name: String,
    summary: String,
    category: &str,
    tags: Vec<String>,
    icon: String,
    price_credits: i64,
    (rating_total, rating_count): (i64, i32),
    (runs_count, runs_succeeded): (i64, i64),
    author: Author,
) -> Result<AgentSummary, ServiceError> {
    let category = Category::from_slug(category)
        .ok_or_else(|| anyhow::anyhow!("agent {slug} has unknown category {category:?}"))?;
    let rating = (rating_count > 0).then(|| rating_total as f32 / rating_count as f32);
    Ok(AgentSummary {
        id: AgentId(id),
        slug,
        name,
        summary,
        category,
        tags,
        icon,
        author,
        price_credits,
        rating,
        rating_count,
        runs_count,
        runs_succeeded,
    })
}

/// A validated listing request.
#[derive(Debug)]
pub(super) struct Listing {
    q: Option<String>,
    /// Whether the search text's last word may still be being typed (the
    /// text did not end in a space): it matches as a prefix too.
    typing: bool,
    category: Option<Category>,
    tags: Vec<String>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    sort: AgentSort,
    limit: i64,
    after: Option<Cursor>,
}

impl Listing {
    /// Appends the conditions an agent of table alias `table` meets to be in
    /// this listing: public and published, and through every filter.
    fn listed(&self, mut sql: Sql, table: &str) -> Sql {
        sql = sql.sql(super::listed_sql(table));
        if let Some(category) = self.category {
            sql = sql
                .sql(format!(" AND {table}.category = "))
                .bind::<Text, _>(category.slug());
        }
        if !self.tags.is_empty() {
            sql = sql
                .sql(format!(" AND {table}.tags @> "))
                .bind::<Array<Text>, _>(self.tags.clone());
        }
        if let Some(min) = self.min_price {
            sql = sql
                .sql(format!(" AND {table}.price_credits >= "))
                .bind::<BigInt, _>(min);
        }
        if let Some(max) = self.max_price {
            sql = sql
                .sql(format!(" AND {table}.price_credits <= "))
                .bind::<BigInt, _>(max);
        }
        sql
    }

    fn parse(query: AgentQuery) -> Result<Self, ServiceError> {
        let typing = !query
            .q
            .as_deref()
            .unwrap_or_default()
            .ends_with(char::is_whitespace);
        // Control characters (a NUL PostgreSQL refuses in text) separate
        // words as spaces do.
        let q = query
            .q
            .map(|q| {
                q.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
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
        let tags: Vec<String> = query
            .tags
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|tag| tag.trim().to_lowercase())
            .filter(|tag| !tag.is_empty())
            .collect();
        if tags.len() > MAX_FILTER_TAGS || tags.iter().any(|tag| tag.chars().count() > 40) {
            return Err(ServiceError::invalid(
                "tags",
                format!("at most {MAX_FILTER_TAGS} tags of at most 40 characters"),
            ));
        }
        let price = |field: &'static str, value: Option<i64>| match value {
            Some(value) if value < 0 => Err(ServiceError::invalid(
                field,
                "must be a whole number of credits, 0 or more",
            )),
            other => Ok(other),
        };
        let min_price = price("min_price", query.min_price)?;
        let mut max_price = price("max_price", query.max_price)?;
        if query.free == Some(true) {
            max_price = Some(0);
        }
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            return Err(ServiceError::invalid(
                "min_price",
                "must not be above max_price (or free=true)",
            ));
        }
        let sort = match query.sort.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(AgentSort::parse(text).ok_or_else(|| {
                let known: Vec<_> = AgentSort::ALL.iter().map(|s| s.as_str()).collect();
                ServiceError::invalid("sort", format!("must be one of {}", known.join(", ")))
            })?),
        };
        // Relevance needs something to be relevant to; without search text
        // the most used agents come first.
        let sort = match (sort, &q) {
            (None | Some(AgentSort::Relevance), Some(_)) => AgentSort::Relevance,
            (None | Some(AgentSort::Relevance), None) => AgentSort::Popular,
            (Some(sort), _) => sort,
        };
        let limit = match query.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(_) => return Err(invalid_limit()),
        };
        let after = match query.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(Cursor::decode(cursor, sort)?),
        };
        Ok(Self {
            q,
            typing,
            category,
            tags,
            min_price,
            max_price,
            sort,
            limit,
            after,
        })
    }
}

fn another_sort() -> ServiceError {
    ServiceError::invalid(
        "cursor",
        "belongs to another sort order; start again without it",
    )
}

pub fn invalid_limit() -> ServiceError {
    ServiceError::invalid("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
}

/// Position after the last agent of a page: the sort it belongs to, that
/// agent's sort key and its id.
#[derive(Debug, PartialEq)]
pub(super) struct Cursor {
    sort: AgentSort,
    key: String,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}\n{}", self.sort.as_str(), self.id, self.key))
    }

    fn decode(text: &str, sort: AgentSort) -> Result<Self, ServiceError> {
        let invalid = || ServiceError::invalid("cursor", "is not a cursor this API returned");
        if text.len() > MAX_CURSOR_BYTES {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, '\n');
        let (Some(cursor_sort), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        // A relevance listing with nothing to rank is keyed by use (see
        // `list`), and its cursors say so.
        let keyed = AgentSort::parse(cursor_sort)
            .filter(|keyed| {
                *keyed == sort || (sort == AgentSort::Relevance && *keyed == AgentSort::Popular)
            })
            .ok_or_else(another_sort)?;
        Ok(Self {
            sort: keyed,
            key: key.to_owned(),
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// A query built from text and binds, numbering the placeholders (diesel's
/// boxed SQL leaves them to the caller).
pub(super) struct Sql {
    query: diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    >,
    binds: usize,
}

impl Sql {
    fn new(text: String) -> Self {
        Self {
            query: diesel::sql_query(text).into_boxed(),
            binds: 0,
        }
    }

    fn sql(mut self, text: impl AsRef<str>) -> Self {
        self.query = self.query.sql(text);
        self
    }

    /// Appends `$n` and binds `value` to it.
    fn bind<T, V>(mut self, value: V) -> Self
    where
        diesel::pg::Pg: diesel::sql_types::HasSqlType<T>,
        V: diesel::serialize::ToSql<T, diesel::pg::Pg> + Send + 'static,
        T: Send + 'static,
    {
        self.binds += 1;
        self.query = self
            .query
            .sql(format!("${}", self.binds))
            .bind::<T, V>(value);
        self
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

/// Lists public agents: searched, filtered, sorted and paginated.
///
/// Search (`words`) takes each word as typed, within its typo budget, as
/// its synonyms and, while the last is typed, as a prefix; an agent
/// matches through its name, tags, category and summary (the listing) or
/// its README. Agents that match every word come first, then (as
/// Meilisearch's "last" strategy does) those that match the first words
/// but not the last; relevance then ranks, word by word, an exact match
/// in the name above one elsewhere in the listing, above a typo (or a word
/// sharing only its stem) in the name, above one in the listing, above the
/// README; ties go to the name most like the query and then to the most
/// used.
pub async fn list(
    services: &Services,
    actor: &Actor,
    query: AgentQuery,
) -> Result<AgentPage, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let listing = Listing::parse(query)?;
    let mut conn = services.conn().await?;
    let meaning = match &listing.q {
        Some(q) => Some(words::understand(&mut conn, q, listing.typing).await?),
        None => None,
    };
    let units: Vec<&Unit> = meaning.iter().flat_map(Meaning::searched).collect();

    // Relevance with nothing to rank (the text was only stop words) lists
    // the most used first, as browsing does, through the same index.
    let ranked = listing.sort == AgentSort::Relevance && !units.is_empty();
    let keyed = match listing.sort {
        AgentSort::Relevance if !ranked => AgentSort::Popular,
        sort => sort,
    };
    if listing
        .after
        .as_ref()
        .is_some_and(|after| after.sort != keyed)
    {
        return Err(another_sort());
    }
    // The sort key and its order; relevance binds the search text.
    let (key_type, descending) = match keyed {
        AgentSort::Relevance | AgentSort::Rating => ("real", true),
        AgentSort::Popular => ("bigint", true),
        AgentSort::Newest => ("timestamptz", true),
        AgentSort::Name => ("text", false),
    };
    let mut sql = Sql::new(format!(
        "SELECT s.*, s.k::text AS sort_key FROM (SELECT {CARD_COLUMNS}, "
    ));
    let tsquery = |sql: Sql, config: &str, text: String| {
        sql.sql(format!("to_tsquery('{config}', "))
            .bind::<Text, _>(text)
            .sql(")")
    };
    sql = match keyed {
        AgentSort::Relevance => {
            // The first words matched, in a row; each word's score; the
            // name's likeness to the query's beginning (trigrams of a long
            // text cost more than the rest of the ranking, and a name is
            // short); use. A word's score steps by at least 0.5, more than
            // the likeness and the use add together, so those two only
            // order agents that match equally.
            sql = sql.sql("(100 * (");
            for n in 1..=units.len() {
                let all: Vec<String> = (1..=n).map(|i| format!("sc.s{i} > 0")).collect();
                if n > 1 {
                    sql = sql.sql(" + ");
                }
                sql = sql.sql(format!(
                    "(CASE WHEN {} THEN 1 ELSE 0 END)",
                    all.join(" AND ")
                ));
            }
            sql = sql.sql(")");
            for n in 1..=units.len() {
                sql = sql.sql(format!(" + sc.s{n}"));
            }
            let likened: String = listing
                .q
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .chars()
                .take(LIKENESS_CHARS)
                .collect();
            sql.sql(" + 0.25 * similarity(lower(a.name), ")
                .bind::<Text, _>(likened)
                .sql(") + 0.001 * ln(1 + a.runs_count))::real")
        }
        AgentSort::Popular => sql.sql("a.runs_count"),
        AgentSort::Rating => sql.sql("a.rating_rank"),
        AgentSort::Newest => sql.sql("a.published_at"),
        AgentSort::Name => sql.sql("lower(a.name)"),
    };
    sql = sql.sql(" AS k FROM agents a JOIN users u ON u.id = a.owner_user_id");
    if ranked {
        // Per word: as typed (or completed, or a synonym) in the name, in
        // the rest of the listing; a typo or only the stem in the name, in
        // the listing; in the README, then a typo there. A word found
        // nowhere (most of them, for a candidate of a long query) costs
        // one test: `search` holds everything the tiers look at. `OFFSET
        // 0` keeps the scores a subquery computed once per agent: inlined,
        // each would be computed again at each of its uses in the key,
        // which grow with the square of the words.
        sql = sql.sql(" CROSS JOIN LATERAL (SELECT ");
        for (n, unit) in units.iter().enumerate() {
            if n > 0 {
                sql = sql.sql(", ");
            }
            let (exact, fuzzy) = (unit.tsquery(false, false), unit.tsquery(true, false));
            let tests = [
                ("CASE WHEN NOT a.search @@ ", "english", fuzzy.clone()),
                (
                    " THEN 0 WHEN a.listing_search @@ ",
                    "english",
                    fuzzy.clone(),
                ),
                (
                    " THEN CASE WHEN a.listing_words @@ ",
                    "simple",
                    unit.tsquery(false, true),
                ),
                (" THEN 4 WHEN a.listing_words @@ ", "simple", exact.clone()),
                (" THEN 3 WHEN a.name_search @@ ", "english", fuzzy),
                (" THEN 2.5 ELSE 1.5 END WHEN a.search @@ ", "english", exact),
            ];
            for (text, config, query) in tests {
                sql = tsquery(sql.sql(text), config, query);
            }
            sql = sql.sql(format!(" THEN 1 ELSE 0.5 END AS s{}", n + 1));
        }
        sql = sql.sql(" OFFSET 0) sc");
    }
    sql = listing.listed(sql.sql(" WHERE "), "a");
    if !units.is_empty() {
        let all = |fuzzy: bool, names: bool| {
            units
                .iter()
                .map(|unit| unit.tsquery(fuzzy, names))
                .collect::<Vec<_>>()
                .join(" & ")
        };
        // Each way of matching is its own indexed query, so the planner never
        // evaluates every condition on every agent. At most
        // SEARCH_CANDIDATES go on to be ranked: agents whose names match
        // every word first, then listings, then READMEs; then (more than
        // one word) those that match the first word only; most used first
        // within each, so a word every README has cannot make a search rank
        // them all.
        //
        // Each way takes only its own SEARCH_CANDIDATES most used listed
        // agents that pass the filters. That loses nothing: an agent among
        // the first SEARCH_CANDIDATES overall is among those of the way that
        // gave it its tier, as every agent ahead of it there is ahead of it
        // overall too. So a word in every README reads the popular index
        // until it has enough, instead of every agent that matches.
        let mut ways = vec![
            ("name_search", all(true, false)),
            ("listing_search", all(true, false)),
            ("search", all(true, false)),
        ];
        if units.len() > 1 {
            ways.push(("listing_search", units[0].tsquery(true, false)));
            ways.push(("search", units[0].tsquery(true, false)));
        }
        // A way runs only while the ways before it found fewer than
        // SEARCH_CANDIDATES agents between them (a one-time filter over
        // their materialised results): when the names alone give enough, no
        // listing or README is searched, which is most of the cost of a
        // word thousands of agents share.
        sql = sql.sql(" AND a.id = ANY(ARRAY(WITH ");
        let count = ways.len();
        for (tier, (column, text)) in ways.into_iter().enumerate() {
            if tier > 0 {
                sql = sql.sql(", ");
            }
            sql = sql.sql(format!(
                "w{tier} AS MATERIALIZED (SELECT m.id, {tier} AS tier, m.runs_count \
                 FROM agents m WHERE "
            ));
            if tier > 0 {
                let before: Vec<String> =
                    (0..tier).map(|t| format!("SELECT id FROM w{t}")).collect();
                sql = sql
                    .sql(format!(
                        "(SELECT count(*) FROM ({}) AS found) < ",
                        before.join(" UNION ")
                    ))
                    .bind::<BigInt, _>(SEARCH_CANDIDATES)
                    .sql(" AND ");
            }
            sql = listing.listed(sql, "m");
            sql = tsquery(sql.sql(format!(" AND m.{column} @@ ")), "english", text)
                .sql(" ORDER BY m.runs_count DESC, m.id LIMIT ")
                .bind::<BigInt, _>(SEARCH_CANDIDATES)
                .sql(")");
        }
        let all: Vec<String> = (0..count).map(|t| format!("SELECT * FROM w{t}")).collect();
        sql = sql
            .sql(format!(
                " SELECT id FROM ({}) AS matches \
                 GROUP BY id ORDER BY min(tier), max(runs_count) DESC, id LIMIT ",
                all.join(" UNION ALL ")
            ))
            .bind::<BigInt, _>(SEARCH_CANDIDATES)
            .sql("))");
    }
    sql = sql.sql(") s");
    if let Some(after) = &listing.after {
        let (beyond, id_order) = if descending { ("<", ">") } else { (">", ">") };
        sql = sql
            .sql(format!(" WHERE (s.k {beyond} CAST("))
            .bind::<Text, _>(after.key.clone())
            .sql(format!(" AS {key_type}) OR (s.k = CAST("))
            .bind::<Text, _>(after.key.clone())
            .sql(format!(" AS {key_type}) AND s.id {id_order} "))
            .bind::<diesel::sql_types::Uuid, _>(after.id)
            .sql("))");
    }
    let direction = if descending { "DESC" } else { "ASC" };
    sql = sql
        .sql(format!(" ORDER BY s.k {direction}, s.id ASC LIMIT "))
        .bind::<BigInt, _>(listing.limit + 1);

    let mut rows: Vec<CardRow> = sql.query.load(&mut conn).await.map_err(|error| {
        // A cursor whose key does not cast (or casts out of its type's
        // range) is one this API did not write.
        match &error {
            diesel::result::Error::DatabaseError(_, info)
                if listing.after.is_some()
                    && (info.message().contains("invalid input syntax")
                        || info.message().contains("out of range")) =>
            {
                ServiceError::invalid("cursor", "is not a cursor this API returned")
            }
            _ => ServiceError::from(error),
        }
    })?;
    let has_more = rows.len() as i64 > listing.limit;
    rows.truncate(listing.limit as usize);
    let next_cursor = has_more.then(|| rows.last()).flatten().map(|row| {
        Cursor {
            sort: keyed,
            key: row.sort_key.clone(),
            id: row.id,
        }
        .encode()
    });
    let items: Vec<AgentSummary> = rows
        .into_iter()
        .map(CardRow::into_summary)
        .collect::<Result<_, _>>()?;
    let suggestion = match &meaning {
        Some(meaning) if items.is_empty() && listing.after.is_none() => {
            words::suggestion(&mut conn, meaning).await?
        }
        _ => None,
    };
    Ok(AgentPage {
        items,
        next_cursor,
        matched: meaning
            .as_ref()
            .map(Meaning::highlights)
            .unwrap_or_default(),
        suggestion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_keys_with_any_text() {
        let cursor = Cursor {
            sort: AgentSort::Name,
            key: "seo specialist\nwith newline".into(),
            id: Uuid::from_u128(7),
        };
        assert_eq!(
            Cursor::decode(&cursor.encode(), AgentSort::Name).unwrap(),
            cursor
        );
    }

    #[test]
    fn bad_cursor_names_the_field() {
        for text in ["not base64!", "aGVsbG8", &"x".repeat(600)] {
            match Cursor::decode(text, AgentSort::Name) {
                Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "cursor"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let popular = Cursor {
            sort: AgentSort::Popular,
            key: "3".into(),
            id: Uuid::from_u128(1),
        };
        assert!(matches!(
            Cursor::decode(&popular.encode(), AgentSort::Name),
            Err(ServiceError::Invalid {
                field: "cursor",
                ..
            })
        ));
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
    fn sort_defaults_follow_the_search_text() {
        let parsed = Listing::parse(AgentQuery::default()).unwrap();
        assert_eq!(parsed.sort, AgentSort::Popular);
        let searched = Listing::parse(AgentQuery {
            q: Some("seo".into()),
            ..AgentQuery::default()
        })
        .unwrap();
        assert_eq!(searched.sort, AgentSort::Relevance);
        assert!(matches!(
            Listing::parse(AgentQuery {
                sort: Some("loudest".into()),
                ..AgentQuery::default()
            }),
            Err(ServiceError::Invalid { field: "sort", .. })
        ));
    }

    #[test]
    fn price_filters_are_checked() {
        let free = Listing::parse(AgentQuery {
            free: Some(true),
            ..AgentQuery::default()
        })
        .unwrap();
        assert_eq!(free.max_price, Some(0));
        for (min, max, field) in [
            (Some(-1), None, "min_price"),
            (None, Some(-5), "max_price"),
            (Some(5), Some(2), "min_price"),
        ] {
            match Listing::parse(AgentQuery {
                min_price: min,
                max_price: max,
                ..AgentQuery::default()
            }) {
                Err(ServiceError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{min:?} {max:?}: {other:?}"),
            }
        }
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
