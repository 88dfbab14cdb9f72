//! The marketplace: listing and reading agents, trying one, its reviews,
//! its versions and its creator's page.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::error::ApiError;
use types::market::{self, CreatorProfile, Review, ReviewPage, RunReport, VersionDetail};
use types::{AgentDetail, AgentPage, AgentQuery, ReviewId};

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answered, failed, meta, services};
#[cfg(feature = "ssr")]
use service::{agents, authoring, reviews};

#[server(prefix = "/api/fn", endpoint = "list_agents", input = GetUrl, client = CsrfClient)]
pub async fn list_agents(query: AgentQuery) -> Result<AgentPage, ApiError> {
    answer(agents::list(&services()?, &actor(), query)).await
}

#[server(prefix = "/api/fn", endpoint = "get_agent", input = GetUrl, client = CsrfClient)]
pub async fn get_agent(slug: String) -> Result<AgentDetail, ApiError> {
    answer(agents::by_slug(&services()?, &actor(), &slug)).await
}

/// Runs the agent's newest published version with `input` in the sandbox,
/// for anyone signed in, and answers the report.
#[server(prefix = "/api/fn", endpoint = "try_agent", input = Json, client = CsrfClient)]
pub async fn try_agent(slug: String, input: String) -> Result<RunReport, ApiError> {
    answer(authoring::try_run(&services()?, &actor(), &slug, input)).await
}

/// One version of an agent, its source and manifest included.
#[server(prefix = "/api/fn", endpoint = "get_version", input = GetUrl, client = CsrfClient)]
pub async fn get_version(slug: String, version: String) -> Result<VersionDetail, ApiError> {
    answer(authoring::version(&services()?, &actor(), &slug, &version)).await
}

#[server(prefix = "/api/fn", endpoint = "get_creator", input = GetUrl, client = CsrfClient)]
pub async fn get_creator(handle: String) -> Result<CreatorProfile, ApiError> {
    answer(agents::creator(&services()?, &actor(), &handle)).await
}

/// A page of the agent's reviews, newest first (`limit` 1 to 50).
#[server(prefix = "/api/fn", endpoint = "list_reviews", input = GetUrl, client = CsrfClient)]
pub async fn list_reviews(
    slug: String,
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<ReviewPage, ApiError> {
    answer(reviews::list(
        &services()?,
        &actor(),
        &slug,
        limit,
        cursor.as_deref(),
    ))
    .await
}

/// Writes the caller's review (201), or edits it when there is one (200).
#[server(prefix = "/api/fn", endpoint = "write_review", input = Json, client = CsrfClient)]
pub async fn write_review(slug: String, review: market::ReviewInput) -> Result<Review, ApiError> {
    let (review, created) = reviews::write(&services()?, &actor(), &slug, review)
        .await
        .map_err(failed)?;
    Ok(if created {
        answered(201, review)
    } else {
        review
    })
}

/// The agent's author answers a review, once.
#[server(prefix = "/api/fn", endpoint = "reply_to_review", input = Json, client = CsrfClient)]
pub async fn reply_to_review(
    slug: String,
    review: ReviewId,
    reply: market::ReplyInput,
) -> Result<Review, ApiError> {
    answer(reviews::reply(
        &services()?,
        &actor(),
        &slug,
        review,
        reply,
        &meta(),
    ))
    .await
}
