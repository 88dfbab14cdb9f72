//! A deployment's web embeds, as the deployment page's Embeds panel manages
//! them: list, make, replace, rotate the secret, delete, and the numbers by
//! day. Each is one call into `service::embeds`, as the REST routes are;
//! an embed is named by its public id (`emb_…`).

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use types::embed::{Embed, EmbedSettings, EmbedStats, EmbedWithSecret};
use types::error::ApiError;
use uuid::Uuid;

use super::CsrfClient;
#[cfg(feature = "ssr")]
use super::context::{actor, answer, answer_with, meta, services};

#[server(prefix = "/api/fn", endpoint = "list_embeds", input = GetUrl, client = CsrfClient)]
pub async fn list_embeds(deployment: Uuid) -> Result<Vec<Embed>, ApiError> {
    answer(service::embeds::list(&services()?, &actor(), deployment)).await
}

/// A new embed; the secret that signs `user` claims is in the answer, once.
#[server(prefix = "/api/fn", endpoint = "create_embed", input = Json, client = CsrfClient)]
pub async fn create_embed(
    deployment: Uuid,
    settings: EmbedSettings,
) -> Result<EmbedWithSecret, ApiError> {
    answer_with(
        201,
        service::embeds::create(&services()?, &actor(), &meta(), deployment, settings),
    )
    .await
}

/// Replaces all of an embed's settings (turning it on or off too).
#[server(prefix = "/api/fn", endpoint = "replace_embed", input = Json, client = CsrfClient)]
pub async fn replace_embed(
    deployment: Uuid,
    embed: String,
    settings: EmbedSettings,
) -> Result<Embed, ApiError> {
    answer(service::embeds::replace(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        &embed,
        settings,
    ))
    .await
}

/// A new secret for `user` claims, in the answer once; the old one stops
/// working at once.
#[server(prefix = "/api/fn", endpoint = "rotate_embed_secret", input = Json, client = CsrfClient)]
pub async fn rotate_embed_secret(
    deployment: Uuid,
    embed: String,
) -> Result<EmbedWithSecret, ApiError> {
    answer(service::embeds::rotate_secret(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        &embed,
    ))
    .await
}

#[server(prefix = "/api/fn", endpoint = "delete_embed", input = Json, client = CsrfClient)]
pub async fn delete_embed(deployment: Uuid, embed: String) -> Result<(), ApiError> {
    answer(service::embeds::delete(
        &services()?,
        &actor(),
        &meta(),
        deployment,
        &embed,
    ))
    .await
}

/// An embed's numbers by UTC day, the last `days` (30 if `None`).
#[server(prefix = "/api/fn", endpoint = "get_embed_stats", input = GetUrl, client = CsrfClient)]
pub async fn get_embed_stats(
    deployment: Uuid,
    embed: String,
    days: Option<i64>,
) -> Result<EmbedStats, ApiError> {
    answer(service::embeds::stats(
        &services()?,
        &actor(),
        deployment,
        &embed,
        days,
    ))
    .await
}
