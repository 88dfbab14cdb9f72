//! Ratings and reviews. One review per user per agent (writing again edits
//! it); authors do not review their own agents; the author may reply once to
//! each review. The agent's rating totals follow the reviews by a database
//! trigger, so the average is right whoever writes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::Actor;
use super::actor::RequestMeta;
use super::agents::{self, AgentRecord};
use super::auth::audit::{self, Entry};
use super::ratings::{ReviewRow, histogram, mine};
use super::schema::{agent_reviews, users};
use super::{ServiceError, Services};
use types::account::Scope;
use types::market::{ReplyInput, Review, ReviewInput, ReviewPage};
use types::{ReviewId, UserId};

pub const MAX_BODY_CHARS: usize = 5000;
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

pub mod action {
    pub const REVIEW_WRITTEN: &str = "review.write";
    pub const REVIEW_REPLIED: &str = "review.reply";
}

/// Newest first; `cursor` is the last page's `next_cursor`.
pub async fn list(
    services: &Services,
    actor: &Actor,
    slug: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<ReviewPage, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
        Some(_) => {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be an integer from 1 to {MAX_LIMIT}"),
            ));
        }
    };
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let mut conn = services.conn().await?;
    let (agent, _) = agents::visible(&mut conn, actor, slug).await?;
    let mut query = agent_reviews::table
        .inner_join(users::table)
        .filter(agent_reviews::agent_id.eq(agent.id))
        .select((ReviewRow::as_select(), users::handle, users::display_name))
        .order((agent_reviews::created_at.desc(), agent_reviews::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            agent_reviews::created_at
                .lt(at)
                .or(agent_reviews::created_at
                    .eq(at)
                    .and(agent_reviews::id.lt(id))),
        );
    }
    let mut rows: Vec<(ReviewRow, String, String)> = query.load(&mut conn).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| rows.last())
        .flatten()
        .map(|(row, _, _)| encode_cursor(row.created_at, row.id));
    let histogram = histogram(&mut conn, agent.id).await?;
    Ok(ReviewPage {
        items: rows
            .into_iter()
            .map(|(row, handle, name)| row.into_review(handle, name))
            .collect(),
        next_cursor,
        histogram,
    })
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{id}", at.timestamp_micros()))
}

fn decode_cursor(text: &str) -> Result<(DateTime<Utc>, Uuid), ServiceError> {
    let invalid = || ServiceError::invalid("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (micros, id) = text.split_once('\n').ok_or_else(invalid)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

fn checked(input: &ReviewInput) -> Result<(i16, String), ServiceError> {
    let rating = i16::try_from(input.rating)
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| {
            ServiceError::invalid("rating", "must be a whole number of stars from 1 to 5")
        })?;
    let body = input.body.trim().to_owned();
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ServiceError::invalid(
            "body",
            format!("must be at most {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok((rating, body))
}

/// Writes the caller's review of `slug`, or edits it if they wrote one.
/// Answers the review and whether it is new. The line in the agent's
/// workspace's audit log names the reviewer but not where they wrote from:
/// that log is the author's to read, and a reviewer's address and browser
/// are not theirs to know.
pub async fn write(
    services: &Services,
    actor: &Actor,
    slug: &str,
    input: ReviewInput,
) -> Result<(Review, bool), ServiceError> {
    let user = actor.require_scope(Scope::AgentsWrite)?;
    let (rating, body) = checked(&input)?;
    let mut conn = services.conn().await?;
    let (agent, _) = agents::visible(&mut conn, actor, slug).await?;
    if agents::is_author(&mut conn, &agent, user).await? {
        return Err(ServiceError::Forbidden(
            "authors cannot review their own agents".into(),
        ));
    }
    if agent.published_at.is_none() {
        return Err(ServiceError::Conflict {
            field: "agent",
            message: "only published agents can be reviewed".into(),
        });
    }
    let actor = actor.clone();
    let meta = RequestMeta::default();
    let agent_id = agent.id;
    let workspace = agent.workspace();
    let created = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            // Insert, or edit the one this user already wrote: the unique
            // (agent, user) key makes "one per user" hold under races too.
            let (id, created): (Uuid, bool) = diesel::sql_query(
                "INSERT INTO agent_reviews (agent_id, user_id, rating, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (agent_id, user_id) DO UPDATE SET rating = EXCLUDED.rating, body = EXCLUDED.body \
                 RETURNING id, (xmax = 0) AS created",
            )
            .bind::<diesel::sql_types::Uuid, _>(agent_id)
            .bind::<diesel::sql_types::Uuid, _>(user.0)
            .bind::<diesel::sql_types::SmallInt, _>(rating)
            .bind::<diesel::sql_types::Text, _>(&body)
            .get_result::<Upserted>(conn)
            .await
            .map(|row| (row.id, row.created))?;
            audit::record(
                conn,
                Entry {
                    action: action::REVIEW_WRITTEN,
                    user: None,
                    actor: &actor,
                    workspace: Some(workspace),
                    target_type: "agent",
                    target_id: agent_id.to_string(),
                    meta: &meta,
                    details: serde_json::json!({ "review": id, "rating": rating, "created": created }),
                },
            )
            .await?;
            Ok(created)
        })
        .await?;
    let review = mine(&mut conn, agent.id, user)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("review vanished after writing")))?;
    Ok((review, created))
}

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    created: bool,
}

/// Deletes the caller's own review of `slug`.
pub async fn delete_mine(
    services: &Services,
    actor: &Actor,
    slug: &str,
) -> Result<(), ServiceError> {
    let user = actor.require_scope(Scope::AgentsWrite)?;
    let mut conn = services.conn().await?;
    let (agent, _) = agents::visible(&mut conn, actor, slug).await?;
    let deleted = diesel::delete(
        agent_reviews::table
            .filter(agent_reviews::agent_id.eq(agent.id))
            .filter(agent_reviews::user_id.eq(user.0)),
    )
    .execute(&mut conn)
    .await?;
    if deleted == 0 {
        return Err(ServiceError::NotFound { what: "review" });
    }
    Ok(())
}

/// The author's one reply to a review of their agent.
pub async fn reply(
    services: &Services,
    actor: &Actor,
    slug: &str,
    review: ReviewId,
    input: ReplyInput,
    meta: &RequestMeta,
) -> Result<Review, ServiceError> {
    let user = actor.require_scope(Scope::AgentsWrite)?;
    let body = input.body.trim().to_owned();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err(ServiceError::invalid(
            "body",
            format!("must be 1 to {MAX_BODY_CHARS} characters"),
        ));
    }
    let mut conn = services.conn().await?;
    let agent: AgentRecord = agents::editable(&mut conn, actor, slug)
        .await
        .map_err(|error| match error {
            ServiceError::Forbidden(_) => {
                ServiceError::Forbidden("only the agent's author can reply to reviews".into())
            }
            other => other,
        })?;
    let (reviewer, existing): (Uuid, Option<String>) = agent_reviews::table
        .filter(agent_reviews::id.eq(review.0))
        .filter(agent_reviews::agent_id.eq(agent.id))
        .select((agent_reviews::user_id, agent_reviews::reply))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "review" })?;
    if existing.is_some() {
        return Err(ServiceError::Conflict {
            field: "body",
            message: "this review has a reply already; the author replies once".into(),
        });
    }
    let updated = diesel::update(
        agent_reviews::table
            .filter(agent_reviews::id.eq(review.0))
            .filter(agent_reviews::reply.is_null()),
    )
    .set((
        agent_reviews::reply.eq(&body),
        agent_reviews::reply_by.eq(user.0),
        agent_reviews::replied_at.eq(diesel::dsl::now),
    ))
    .execute(&mut conn)
    .await?;
    if updated == 0 {
        return Err(ServiceError::Conflict {
            field: "body",
            message: "this review has a reply already; the author replies once".into(),
        });
    }
    audit::record(
        &mut conn,
        Entry {
            action: action::REVIEW_REPLIED,
            user: None,
            actor,
            workspace: Some(agent.workspace()),
            target_type: "agent",
            target_id: agent.id.to_string(),
            meta,
            details: serde_json::json!({ "review": review.0 }),
        },
    )
    .await?;
    mine(&mut conn, agent.id, UserId(reviewer))
        .await?
        .ok_or(ServiceError::NotFound { what: "review" })
}
