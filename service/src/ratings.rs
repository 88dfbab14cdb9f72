//! The read side of reviews that the agent page needs too: the stars'
//! histogram and one user's review. `reviews` writes and lists them; both it
//! and `agents` read through here, so neither depends on the other's writes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ServiceError;
use crate::schema::{agent_reviews, users};
use types::market::{Review, ReviewReply};
use types::{Author, ReviewId, UserId};

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_reviews)]
pub(crate) struct ReviewRow {
    pub(crate) id: Uuid,
    pub(crate) rating: i16,
    pub(crate) body: String,
    pub(crate) reply: Option<String>,
    pub(crate) replied_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl ReviewRow {
    pub(crate) fn into_review(self, handle: String, display_name: String) -> Review {
        Review {
            id: ReviewId(self.id),
            author: Author {
                handle,
                display_name,
            },
            rating: u8::try_from(self.rating).unwrap_or(0),
            body: self.body,
            created_at: self.created_at,
            updated_at: self.updated_at,
            reply: match (self.reply, self.replied_at) {
                (Some(body), Some(replied_at)) => Some(ReviewReply { body, replied_at }),
                _ => None,
            },
        }
    }
}

/// `user`'s review of `agent`, if any.
pub(crate) async fn mine(
    conn: &mut AsyncPgConnection,
    agent: Uuid,
    user: UserId,
) -> Result<Option<Review>, ServiceError> {
    let row: Option<(ReviewRow, String, String)> = agent_reviews::table
        .inner_join(users::table)
        .filter(agent_reviews::agent_id.eq(agent))
        .filter(agent_reviews::user_id.eq(user.0))
        .select((ReviewRow::as_select(), users::handle, users::display_name))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(row, handle, name)| row.into_review(handle, name)))
}

/// Counts reviews per star for `agent`.
pub(crate) async fn histogram(
    conn: &mut AsyncPgConnection,
    agent: Uuid,
) -> Result<[i64; 5], ServiceError> {
    let counts: Vec<(i16, i64)> = agent_reviews::table
        .filter(agent_reviews::agent_id.eq(agent))
        .group_by(agent_reviews::rating)
        .select((agent_reviews::rating, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let mut histogram = [0; 5];
    for (rating, count) in counts {
        if let Some(slot) = usize::try_from(rating - 1)
            .ok()
            .and_then(|i| histogram.get_mut(i))
        {
            *slot = count;
        }
    }
    Ok(histogram)
}
