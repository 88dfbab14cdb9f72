//! Live events: committed with a per-topic sequence number, read back for
//! clients that resume with `since`, and the rule of who may follow which
//! topic. The server's listener (`server::live`) fans them out.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use types::topic::{Topic, TopicRequest};

use super::actor::Actor;
use super::{ServiceError, Services};

/// Events read per statement when a client catches up.
pub const REPLAY_PAGE: i64 = 500;
/// How long events are kept for clients that resume.
pub const RETENTION_DAYS: i32 = 7;

/// Commits `event` to `topic` in the caller's transaction (its listeners
/// hear of it when that commits); answers its sequence number.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    topic: Topic,
    event: &serde_json::Value,
) -> Result<i64, ServiceError> {
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let row: Seq = diesel::sql_query(
        "WITH next AS (\
             INSERT INTO event_topics (topic, last_seq) VALUES ($1, 1) \
             ON CONFLICT (topic) DO UPDATE SET last_seq = event_topics.last_seq + 1 \
             RETURNING last_seq) \
         INSERT INTO events (topic, seq, event) SELECT $1, last_seq, $2 FROM next \
         RETURNING seq",
    )
    .bind::<Text, _>(topic.to_string())
    .bind::<Jsonb, _>(event)
    .get_result(conn)
    .await?;
    Ok(row.seq)
}

/// Commits `events` to `topic` in one statement, numbered in order;
/// answers the last sequence number (None for no events).
pub async fn publish_many(
    conn: &mut AsyncPgConnection,
    topic: Topic,
    events: &[serde_json::Value],
) -> Result<Option<i64>, ServiceError> {
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    if events.is_empty() {
        return Ok(None);
    }
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let rows: Vec<Seq> = diesel::sql_query(
        "WITH next AS (\
             INSERT INTO event_topics (topic, last_seq) VALUES ($1, $3) \
             ON CONFLICT (topic) DO UPDATE SET last_seq = event_topics.last_seq + $3 \
             RETURNING last_seq) \
         INSERT INTO events (topic, seq, event) \
         SELECT $1, next.last_seq - $3 + line.n, line.event \
         FROM next, jsonb_array_elements($2) WITH ORDINALITY AS line(event, n) \
         RETURNING seq",
    )
    .bind::<Text, _>(topic.to_string())
    .bind::<Jsonb, _>(serde_json::Value::Array(events.to_vec()))
    .bind::<BigInt, _>(count)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.seq).max())
}

/// One stored event.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct StoredEvent {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Jsonb)]
    pub event: serde_json::Value,
}

/// The events of `topic` after `after`, oldest first, at most `limit`.
pub async fn after(
    services: &Services,
    topic: Topic,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, ServiceError> {
    let mut conn = services.conn().await?;
    let events = diesel::sql_query(
        "SELECT seq, event FROM events WHERE topic = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind::<Text, _>(topic.to_string())
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?;
    Ok(events)
}

/// The newest sequence number of `topic` (0 before its first event), and
/// the oldest one still kept (None when none is).
pub async fn bounds(services: &Services, topic: Topic) -> Result<(i64, Option<i64>), ServiceError> {
    #[derive(QueryableByName)]
    struct Bounds {
        #[diesel(sql_type = BigInt)]
        last: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        first: Option<i64>,
    }
    let mut conn = services.conn().await?;
    let row: Bounds = diesel::sql_query(
        "SELECT coalesce((SELECT last_seq FROM event_topics WHERE topic = $1), 0) AS last, \
                (SELECT min(seq) FROM events WHERE topic = $1) AS first",
    )
    .bind::<Text, _>(topic.to_string())
    .get_result(&mut conn)
    .await?;
    Ok((row.last, row.first))
}

/// Forgets events older than the retention period; answers how many.
pub async fn purge(services: &Services) -> Result<usize, ServiceError> {
    let mut conn = services.conn().await?;
    let deleted = diesel::sql_query(
        "DELETE FROM events WHERE created_at < now() - make_interval(days => $1)",
    )
    .bind::<diesel::sql_types::Integer, _>(RETENTION_DAYS)
    .execute(&mut conn)
    .await?;
    Ok(deleted)
}

/// The stored topic behind a topic as a client names it, if `actor` may
/// follow it (the rule is `access::may_follow`). Anything the caller may not
/// see is refused the same way as a topic that does not exist, so a refusal
/// tells nothing.
pub async fn resolve_topic(
    services: &Services,
    actor: &Actor,
    topic: TopicRequest,
) -> Result<Topic, ServiceError> {
    let mut conn = services.conn().await?;
    super::access::may_follow(&mut conn, actor, topic).await
}
