//! `GET|POST /api/v1/agents/{slug}/reviews`, `DELETE .../reviews/mine` and
//! `POST .../reviews/{id}/reply`. Posting again edits one's review.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use service::{ServiceError, reviews};
use types::ReviewId;
use types::market::{ReplyInput, Review, ReviewInput, ReviewPage};

use crate::api::body::Body;
use crate::api::extract::{Call, QueryOf, Reply};
use crate::error::AppError;

#[derive(Deserialize)]
pub struct PageParams {
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list_reviews(
    call: Call,
    Path(slug): Path<String>,
    QueryOf(params): QueryOf<PageParams>,
) -> Reply<ReviewPage> {
    let (limit, cursor) = (params.limit, params.cursor.as_deref());
    let page = reviews::list(&call.services, &call.actor, &slug, limit, cursor).await?;
    Ok(Json(page))
}

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

pub async fn delete_my_review(
    call: Call,
    Path(slug): Path<String>,
) -> Result<StatusCode, AppError> {
    reviews::delete_mine(&call.services, &call.actor, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
