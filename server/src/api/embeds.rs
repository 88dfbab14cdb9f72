//! Web embeds. Their management under `/api/v1/deployments/{id}/embeds`
//! (sessions and keys), and the visitor's side, outside the authenticated
//! router: the frame page `GET /embed/{id}` (its `frame-ancestors` from the
//! embed's allowed origins), `POST /embed/{id}/session` (checks `Origin`
//! and the page's origin, answers a visitor token) and the messages
//! endpoints, which take that token as `Authorization: Bearer evt_…`.
//! `embed.js` itself is a static file of the web build.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use service::actor::RequestMeta;
use service::{ServiceError, embeds};
use types::DeploymentId;
use types::embed::{
    Conversation, Embed, EmbedSettings, EmbedStats, EmbedWithSecret, MessageSent, OpenSession,
    SendMessage, VisitorSession,
};
use types::error::ErrorEnvelope;

use crate::api::body::Body;
use crate::api::extract::{Answer, Call, PathId, QueryOf, Reply, created};
use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::headers::LOCKED_POLICY;
use crate::state::AppState;

/// A deployment's embeds.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EmbedList {
    /// Oldest first, at most 10.
    items: Vec<Embed>,
}

fn deployment_id(text: &str) -> Result<uuid::Uuid, ServiceError> {
    text.parse()
        .map_err(|_| ServiceError::NotFound { what: "deployment" })
}

/// List a deployment's embeds
///
/// With their settings and snippets (never their secrets). For anyone who
/// may see the deployment.
#[utoipa::path(
    get,
    path = "/deployments/{id}/embeds",
    tag = "embeds",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    responses((status = 200, description = "The deployment's embeds", body = EmbedList)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn list_embeds(call: Call, PathId(id): PathId<DeploymentId>) -> Reply<EmbedList> {
    let items = embeds::list(&call.services, &call.actor, id.0).await?;
    Ok(Json(EmbedList { items }))
}

/// Add an embed
///
/// A chat bubble or an inline form of the deployment for other websites,
/// shown only on its allowed origins. The answer has its snippet and, this
/// once, the secret that signs `user` claims. Runs start as the member who
/// made it. At most 10 per deployment. For members and up.
#[utoipa::path(
    post,
    path = "/deployments/{id}/embeds",
    tag = "embeds",
    params(("id" = uuid::Uuid, Path, description = "The deployment's id")),
    request_body = EmbedSettings,
    responses(
        (status = 201, description = "The embed, its snippet and secret", body = EmbedWithSecret),
        (status = 409, description = "The deployment has 10 embeds already", body = ErrorEnvelope),
    ),
    security(("bearer" = ["deployments:write", "runs:write"]))
)]
pub async fn create_embed(
    call: Call,
    PathId(id): PathId<DeploymentId>,
    Body(settings): Body<EmbedSettings>,
) -> Answer<EmbedWithSecret> {
    created(embeds::create(&call.services, &call.actor, &call.meta, id.0, settings).await?)
}

/// Show an embed
#[utoipa::path(
    get,
    path = "/deployments/{id}/embeds/{embed}",
    tag = "embeds",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("embed" = String, Path, description = "The embed's id, `emb_…`"),
    ),
    responses((status = 200, description = "The embed", body = Embed)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn show_embed(call: Call, Path((id, embed)): Path<(String, String)>) -> Reply<Embed> {
    let id = deployment_id(&id)?;
    Ok(Json(
        embeds::get(&call.services, &call.actor, id, &embed).await?,
    ))
}

/// Change an embed
///
/// Replaces its settings (a field left out takes its default). Turning it
/// off stops its next message; its runs then start as the member who
/// changed it. For members and up.
#[utoipa::path(
    put,
    path = "/deployments/{id}/embeds/{embed}",
    tag = "embeds",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("embed" = String, Path, description = "The embed's id, `emb_…`"),
    ),
    request_body = EmbedSettings,
    responses((status = 200, description = "The embed as changed", body = Embed)),
    security(("bearer" = ["deployments:write", "runs:write"]))
)]
pub async fn change_embed(
    call: Call,
    Path((id, embed)): Path<(String, String)>,
    Body(settings): Body<EmbedSettings>,
) -> Reply<Embed> {
    let id = deployment_id(&id)?;
    Ok(Json(
        embeds::replace(
            &call.services,
            &call.actor,
            &call.meta,
            id,
            &embed,
            settings,
        )
        .await?,
    ))
}

/// Delete an embed
///
/// Its frame and its visitors' calls answer 404 at once; its
/// conversations go with it, its runs stay. For members and up.
#[utoipa::path(
    delete,
    path = "/deployments/{id}/embeds/{embed}",
    tag = "embeds",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("embed" = String, Path, description = "The embed's id, `emb_…`"),
    ),
    responses((status = 204, description = "The embed is deleted")),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn delete_embed(
    call: Call,
    Path((id, embed)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let id = deployment_id(&id)?;
    embeds::delete(&call.services, &call.actor, &call.meta, id, &embed).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an embed's secret
///
/// A new secret for `user` claims, answered this once; claims signed with
/// the old one are refused at once. For members and up.
#[utoipa::path(
    post,
    path = "/deployments/{id}/embeds/{embed}/secret",
    tag = "embeds",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("embed" = String, Path, description = "The embed's id, `emb_…`"),
    ),
    responses((status = 200, description = "The embed and its new secret", body = EmbedWithSecret)),
    security(("bearer" = ["deployments:write"]))
)]
pub async fn rotate_embed_secret(
    call: Call,
    Path((id, embed)): Path<(String, String)>,
) -> Reply<EmbedWithSecret> {
    let id = deployment_id(&id)?;
    Ok(Json(
        embeds::rotate_secret(&call.services, &call.actor, &call.meta, id, &embed).await?,
    ))
}

/// How many days of numbers.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Days {
    /// 1 to 90 (30 if left out).
    days: Option<i64>,
}

/// An embed's numbers
///
/// Views, runs, failures and what its runs cost, by UTC day (the last
/// `days`), read from the runs themselves; and today's spend against its
/// daily cap. For anyone who may see the deployment.
#[utoipa::path(
    get,
    path = "/deployments/{id}/embeds/{embed}/stats",
    tag = "embeds",
    params(
        ("id" = uuid::Uuid, Path, description = "The deployment's id"),
        ("embed" = String, Path, description = "The embed's id, `emb_…`"),
        Days,
    ),
    responses((status = 200, description = "The embed's numbers by day", body = EmbedStats)),
    security(
        ("bearer" = ["deployments:write"]),
        ("bearer" = ["runs:read"]),
        ("bearer" = ["runs:write"])
    )
)]
pub async fn show_embed_stats(
    call: Call,
    Path((id, embed)): Path<(String, String)>,
    QueryOf(Days { days }): QueryOf<Days>,
) -> Reply<EmbedStats> {
    let id = deployment_id(&id)?;
    Ok(Json(
        embeds::stats(&call.services, &call.actor, id, &embed, days).await?,
    ))
}

/// The frame's page: the web build's `embed.html`.
const FRAME_PAGE: &str = "embed.html";

/// The page where an embed is not shown: nothing, framed by nobody.
fn not_shown(status: StatusCode, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Agentdeck</title>\
         </head><body><p>{}</p></body></html>",
        message
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(LOCKED_POLICY),
            ),
        ],
        html,
    )
        .into_response()
}

/// An embed's frame
///
/// The page the launcher frames: it opens the visitor's session and talks
/// to the agent. Framed only by the embed's allowed origins
/// (`Content-Security-Policy: frame-ancestors`).
#[utoipa::path(
    get,
    path = "/embed/{embed}",
    tag = "embed",
    operation_id = "embed_frame",
    params(("embed" = String, Path, description = "The embed's id, `emb_…`")),
    responses(
        (status = 200, description = "The frame's page", body = String, content_type = "text/html"),
        (status = 403, description = "The embed is turned off, or the page was not loaded \
            into a frame (`Sec-Fetch-Dest`)", body = String, content_type = "text/html"),
        (status = 404, description = "No such embed", body = String, content_type = "text/html"),
    ),
    security(())
)]
pub async fn embed_frame(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(embed): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = state.limits.api(client.and_then(|Extension(c)| c.0)) {
        return error.into_response();
    }
    // Framed only: opened on its own (a link, a popup from any site) it
    // would hand the embed to sites its owner never listed. Browsers say
    // where a document goes; one that does not say is let through (the
    // frame's own script refuses to start unframed).
    let destination = headers
        .get("sec-fetch-dest")
        .and_then(|value| value.to_str().ok());
    if destination.is_some_and(|dest| dest != "iframe" && dest != "frame") {
        return not_shown(
            StatusCode::FORBIDDEN,
            "This chat shows only inside the site it belongs to.",
        );
    }
    let view = match embeds::frame(&state.services, &embed).await {
        Ok(view) => view,
        Err(ServiceError::NotFound { .. }) => {
            return not_shown(StatusCode::NOT_FOUND, "There is no such assistant.");
        }
        Err(ServiceError::Forbidden(message)) => {
            return not_shown(StatusCode::FORBIDDEN, &message);
        }
        Err(error) => return AppError::from(error).into_response(),
    };
    let page = state.dist_dir.join(FRAME_PAGE);
    let html = match tokio::fs::read(&page).await {
        Ok(html) => html,
        Err(cause) => {
            tracing::warn!(page = %page.display(), %cause, "the embed frame is not built");
            return not_shown(
                StatusCode::NOT_FOUND,
                "The web app is not built on this server.",
            );
        }
    };
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors {}",
        view.frame_ancestors
    );
    let Ok(policy) = HeaderValue::from_str(&policy) else {
        return not_shown(StatusCode::NOT_FOUND, "There is no such assistant.");
    };
    let mut response = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        html,
    )
        .into_response();
    // `frame-ancestors` decides who frames it; `secure` adds no
    // `X-Frame-Options: DENY` to this page.
    response.extensions_mut().insert(crate::headers::Frameable);
    response
}

/// The request's facts for a visitor's call: its `Origin` and address.
fn visitor_call(
    state: &AppState,
    client: Option<Extension<ClientAddr>>,
    headers: &HeaderMap,
) -> Result<(Option<String>, RequestMeta), AppError> {
    let ip = client.and_then(|Extension(c)| c.0);
    state.limits.api(ip)?;
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    Ok((
        origin,
        RequestMeta::new(ip.map(|ip| ip.to_string()).unwrap_or_default(), agent),
    ))
}

/// A visitor's call: its `Origin`, its facts, and the visitor token of
/// `Authorization: Bearer evt_…` (the service checks it is the embed's).
fn visitor_of<'h>(
    state: &AppState,
    client: Option<Extension<ClientAddr>>,
    headers: &'h HeaderMap,
) -> Result<(Option<String>, RequestMeta, &'h str), AppError> {
    let (origin, meta) = visitor_call(state, client, headers)?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Service(ServiceError::Unauthenticated))?;
    Ok((origin, meta, token))
}

/// Open a visitor's session
///
/// Called by the embed's frame (or a site's own page) with the visitor's
/// random id and the page's origin: answers a visitor token (an hour), what
/// to show and the conversation so far, and counts a view. Refused (403)
/// when `Origin` or the page is not an allowed site, when the embed is
/// off, or when a `user` claim does not verify.
#[utoipa::path(
    post,
    path = "/embed/{embed}/session",
    tag = "embed",
    operation_id = "open_embed_session",
    params(("embed" = String, Path, description = "The embed's id, `emb_…`")),
    request_body = OpenSession,
    responses(
        (status = 200, description = "The visitor's session", body = VisitorSession),
        (status = 403, description = "Not an allowed site, the embed is off, or the user claim \
            does not verify", body = ErrorEnvelope),
        (status = 404, description = "No such embed", body = ErrorEnvelope),
        (status = 429, description = "Too many sessions from this address", body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn open_embed_session(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(embed): Path<String>,
    headers: HeaderMap,
    Body(request): Body<OpenSession>,
) -> Reply<VisitorSession> {
    let (origin, meta) = visitor_call(&state, client, &headers)?;
    Ok(Json(
        embeds::open_session(&state.services, &embed, origin.as_deref(), &meta, request).await?,
    ))
}

/// Send a message
///
/// A chat's `text` or a form's `input`: counted against the visitor's, the
/// address's and the embed's limits (429 with a message for the visitor)
/// and the embed's daily cap (402), stored, and answered by a run
/// (`trigger = embed`) the visitor follows on the live socket
/// (`run:<id>`). Takes the visitor token (`Authorization: Bearer evt_…`).
#[utoipa::path(
    post,
    path = "/embed/{embed}/messages",
    tag = "embed",
    operation_id = "send_embed_message",
    params(("embed" = String, Path, description = "The embed's id, `emb_…`")),
    request_body = SendMessage,
    responses(
        (status = 202, description = "Sent; its run is queued", body = MessageSent),
        (status = 401, description = "No visitor token, or it expired", body = ErrorEnvelope),
        (status = 402, description = "The assistant's budget for today is used up",
            body = ErrorEnvelope),
        (status = 403, description = "Not an allowed site, or the embed is off",
            body = ErrorEnvelope),
        (status = 404, description = "No such embed", body = ErrorEnvelope),
        (status = 409, description = "The assistant is not available (its deployment is not \
            running)", body = ErrorEnvelope),
        (status = 429, description = "Over a limit (per visitor, address or embed)",
            body = ErrorEnvelope),
    ),
    security(("visitor" = []))
)]
pub async fn send_embed_message(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(embed): Path<String>,
    headers: HeaderMap,
    Body(message): Body<SendMessage>,
) -> Result<(StatusCode, Json<MessageSent>), AppError> {
    let (origin, meta, token) = visitor_of(&state, client, &headers)?;
    let sent = embeds::send(
        &state.services,
        &embed,
        token,
        origin.as_deref(),
        &meta,
        message,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Read the conversation
///
/// The visitor's messages and the answers that came (the newest 50
/// messages). Takes the visitor token.
#[utoipa::path(
    get,
    path = "/embed/{embed}/messages",
    tag = "embed",
    operation_id = "list_embed_messages",
    params(("embed" = String, Path, description = "The embed's id, `emb_…`")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 401, description = "No visitor token, or it expired", body = ErrorEnvelope),
        (status = 403, description = "Not an allowed site, or the embed is off",
            body = ErrorEnvelope),
        (status = 404, description = "No such embed", body = ErrorEnvelope),
    ),
    security(("visitor" = []))
)]
pub async fn list_embed_messages(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(embed): Path<String>,
    headers: HeaderMap,
) -> Reply<Conversation> {
    let (origin, _, token) = visitor_of(&state, client, &headers)?;
    Ok(Json(
        embeds::conversation(&state.services, &embed, token, origin.as_deref()).await?,
    ))
}

/// Clear the conversation
///
/// Forgets the visitor's messages (its runs stay, as the owner's records).
/// Takes the visitor token.
#[utoipa::path(
    delete,
    path = "/embed/{embed}/messages",
    tag = "embed",
    operation_id = "clear_embed_messages",
    params(("embed" = String, Path, description = "The embed's id, `emb_…`")),
    responses(
        (status = 204, description = "Cleared"),
        (status = 401, description = "No visitor token, or it expired", body = ErrorEnvelope),
        (status = 403, description = "Not an allowed site, or the embed is off",
            body = ErrorEnvelope),
        (status = 404, description = "No such embed", body = ErrorEnvelope),
    ),
    security(("visitor" = []))
)]
pub async fn clear_embed_messages(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Path(embed): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let (origin, _, token) = visitor_of(&state, client, &headers)?;
    embeds::clear(&state.services, &embed, token, origin.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
