//! Who calls `/mcp`: a bearer token on every request (the GET stream and
//! DELETE too), never a cookie, so no other site can make a browser call
//! it. An API key must hold `mcp`.
//!
//! Refusals follow the MCP authorization specification (RFC 6750 and RFC
//! 9728): 401 with `WWW-Authenticate: Bearer resource_metadata="…"` naming
//! where a client learns how to get a token, `error="invalid_token"` when
//! the one sent is no good; 403 `insufficient_scope` for a key without
//! `mcp`. Then the usual per-address and per-key budgets, and at most
//! `sessions::PER_KEY` sessions per key; a session id is honoured only
//! with the key that opened it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use service::ServiceError;
use service::auth::{Caller, RequestMeta, api_keys, oauth};
use types::account::Scope;
use types::error::{ApiError, ErrorEnvelope, code};
use types::request_id;

use super::sessions::Opener;
use crate::error::AppError;
use crate::state::AppState;

const SESSION_HEADER: &str = "mcp-session-id";

/// The protected-resource metadata document of `/mcp` (RFC 9728).
pub fn resource_metadata_url(public_url: &str) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        public_url.trim_end_matches('/')
    )
}

fn challenge(state: &AppState, error: Option<&str>) -> HeaderValue {
    let metadata = resource_metadata_url(&state.services.public_url);
    let error = error
        .map(|error| format!(", error=\"{error}\""))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "Bearer resource_metadata=\"{metadata}\", scope=\"mcp\"{error}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

fn refused(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    message: &'static str,
) -> Response {
    let mut response = if status == StatusCode::FORBIDDEN {
        AppError::Forbidden(message).into_response()
    } else {
        let body = ErrorEnvelope {
            error: ApiError {
                request_id: request_id::current(),
                ..ApiError::new(code::UNAUTHENTICATED, message)
            },
        };
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    };
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge(state, error));
    response
}

pub async fn bearer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .map(|client| client.text())
        .unwrap_or_default();
    if let Err(limited) = state.limits.api(ip.parse().ok()) {
        return limited.into_response();
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let meta = RequestMeta::new(ip, user_agent);
    let Some(token) = crate::auth::bearer(headers) else {
        return refused(
            &state,
            StatusCode::UNAUTHORIZED,
            None,
            "send an API key holding mcp, or an OAuth access token, as a bearer token \
             (a session cookie is not taken here)",
        );
    };
    let resolved = if token.starts_with(oauth::grants::ACCESS_PREFIX) {
        oauth::resolve_access(&state.services, token).await
    } else {
        api_keys::resolve(&state.services, token).await
    };
    let actor = match resolved {
        Ok(actor) => actor,
        Err(ServiceError::InvalidApiKey) => {
            return refused(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the token is invalid, expired or revoked",
            );
        }
        Err(error) => return AppError::from(error).into_response(),
    };
    if actor.require_scope(Scope::Mcp).is_err() {
        return refused(
            &state,
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "this API key lacks the mcp scope",
        );
    }
    let (Some(key), Some(user), service::auth::Actor::ApiKey { workspace_id, .. }) =
        (actor.key_id(), actor.user_id(), &actor)
    else {
        return refused(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "no key",
        );
    };
    if let Err(limited) = state.limits.api_key(key.0) {
        return limited.into_response();
    }
    let opener = Opener {
        user: user.0,
        key: key.0,
        workspace: workspace_id.0,
    };
    let session = headers
        .get(SESSION_HEADER)
        .and_then(|id| id.to_str().ok())
        .map(str::to_owned);
    let opening = request.method() == Method::POST && session.is_none();
    match &session {
        // Another key's session is no session of this caller's.
        Some(id) if state.mcp.opener(id).is_some_and(|o| o.key != opener.key) => {
            return (StatusCode::NOT_FOUND, "Session not found").into_response();
        }
        _ => {}
    }
    let reservation = if opening {
        match state.mcp.reserve(opener) {
            Some(reservation) => Some(reservation),
            None => {
                return AppError::Service(ServiceError::RateLimited {
                    retry_after: std::time::Duration::from_secs(60),
                    message: "this key holds as many MCP sessions as it may; end one \
                              (DELETE /mcp) or let one idle out",
                })
                .into_response();
            }
        }
    } else {
        None
    };
    let ending = (request.method() == Method::DELETE)
        .then_some(session.clone())
        .flatten();
    request.extensions_mut().insert(Caller { actor, meta });
    let response = next.run(request).await;
    if let Some(reservation) = reservation
        && let Some(id) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|id| id.to_str().ok())
    {
        reservation.opened(id);
    }
    if let Some(id) = ending
        && response.status().is_success()
    {
        state.mcp.ended(&id);
    }
    response
}
