//! The pages a search engine may list: every listed agent's page and the
//! page of every creator with one. Private and unlisted agents are never
//! here (nor their creators, for them), nor archived ones.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::RunQueryDsl as _;

use crate::{ServiceError, Services};

/// One URL a sitemap names: its path and when it last changed.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct Listed {
    #[diesel(sql_type = Text)]
    pub path: String,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// The most URLs one sitemap file may hold (sitemaps.org).
pub const MAX_URLS: i64 = 50_000;

/// Listed agents' pages (by slug), then their creators' (by handle), at
/// most [`MAX_URLS`] in all.
pub async fn sitemap(services: &Services) -> Result<Vec<Listed>, ServiceError> {
    let mut conn = services.conn().await?;
    let listed: Vec<Listed> = diesel::sql_query(format!(
        "SELECT path, updated_at FROM ( \
             (SELECT 1 AS part, a.slug AS key, '/agents/' || a.slug AS path, a.updated_at \
              FROM agents a \
              WHERE {listed} \
              ORDER BY a.slug LIMIT $1) \
             UNION ALL \
             (SELECT 2, u.handle, '/creators/' || u.handle, max(a.updated_at) \
              FROM agents a JOIN users u ON u.id = a.owner_user_id \
              WHERE {listed} \
              GROUP BY u.handle ORDER BY u.handle LIMIT $1) \
         ) AS pages ORDER BY part, key LIMIT $1",
        listed = super::listed_sql("a")
    ))
    .bind::<BigInt, _>(MAX_URLS - 1)
    .load(&mut conn)
    .await?;
    Ok(listed)
}
