//! `GET|POST /api/v1/agents/{slug}/reviews`, `DELETE .../reviews/mine` and
//! `POST .../reviews/{id}/reply`. Posting again edits one's review.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use service::{ServiceError, reviews};
use types::ReviewId;
use types::error::ErrorEnvelope;
use types::market::{ReplyInput, Review, ReviewInput, ReviewPage};

use crate::api::body::Body;
use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Reviews per page, 1 to 100 (20 unless given).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List an agent's reviews
///
/// The reviews of an agent the caller may see, newest first, one page at a
/// time, with the histogram of their ratings.
#[utoipa::path(
    get,
    path = "/agents/{slug}/reviews",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug"), PageParams),
    responses((status = 200, description = "One page of reviews", body = ReviewPage)),
    security((), ("bearer" = ["agents:read"]))
)]
pub async fn list_reviews(
    call: Call,
    Path(slug): Path<String>,
    QueryOf(params): QueryOf<PageParams>,
) -> Reply<ReviewPage> {
    let (limit, cursor) = (params.limit, params.cursor.as_deref());
    let page = reviews::list(&call.services, &call.actor, &slug, limit, cursor).await?;
    Ok(Json(page))
}

/// Write a review
///
/// Writes the caller's review of a published agent, or edits it if they
/// wrote one already. Authors cannot review their own agents.
#[utoipa::path(
    post,
    path = "/agents/{slug}/reviews",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "The caller's review, edited", body = Review),
        (status = 201, description = "The caller's review, written", body = Review),
        (status = 409, description = "The agent is not published", body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn write_review(
    call: Call,
    Path(slug): Path<String>,
    Body(input): Body<ReviewInput>,
) -> Result<(StatusCode, Json<Review>), AppError> {
    let (review, created) = reviews::write(&call.services, &call.actor, &slug, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(review)))
}

/// Delete my review
///
/// Deletes the caller's own review of an agent.
#[utoipa::path(
    delete,
    path = "/agents/{slug}/reviews/mine",
    tag = "agents",
    params(("slug" = String, Path, description = "The agent's slug")),
    responses((status = 204, description = "The review is deleted")),
    security(("bearer" = ["agents:write"]))
)]
pub async fn delete_my_review(
    call: Call,
    Path(slug): Path<String>,
) -> Result<StatusCode, AppError> {
    reviews::delete_mine(&call.services, &call.actor, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reply to a review
///
/// The author's one reply to a review of their agent; for members of the
/// agent's workspace.
#[utoipa::path(
    post,
    path = "/agents/{slug}/reviews/{id}/reply",
    tag = "agents",
    params(
        ("slug" = String, Path, description = "The agent's slug"),
        ("id" = uuid::Uuid, Path, description = "The review's id"),
    ),
    request_body = ReplyInput,
    responses(
        (status = 200, description = "The review, with its reply", body = Review),
        (status = 409, description = "The review has a reply already", body = ErrorEnvelope),
    ),
    security(("bearer" = ["agents:write"]))
)]
pub async fn reply_to_review(
    call: Call,
    Path((slug, id)): Path<(String, String)>,
    Body(input): Body<ReplyInput>,
) -> Reply<Review> {
    let id = id
        .parse()
        .map(ReviewId)
        .map_err(|_| ServiceError::NotFound { what: "review" })?;
    Ok(Json(
        reviews::reply(&call.services, &call.actor, &slug, id, input, &call.meta).await?,
    ))
}
