//! Connecting through a provider's sign-in: the authorization code flow,
//! with `state` and the PKCE verifier kept server-side for the browser that
//! started it (a cookie holds the key to them) and the session that
//! started it, an exact redirect URI (`<public url>/connect/callback`), and
//! the code traded once.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use uuid::Uuid;

use super::catalogue::{Auth, Pkce};
use super::{Connected, Credential, oauth};
use crate::access;
use crate::actor::{Actor, RequestMeta};
use crate::auth::github::safe_return_to;
use crate::auth::tokens;
use crate::schema::{connection_flows, sessions};
use crate::{ServiceError, Services};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::connection::StartConnection;

const FLOW_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// Where every provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/connect/callback";

pub fn redirect_uri(services: &Services) -> String {
    format!("{}{CALLBACK_PATH}", services.public_url)
}

pub struct Started {
    /// Goes into the flow cookie, nowhere else.
    pub browser_token: String,
    pub authorize_url: String,
}

/// What the provider sent back. Its `Debug` shows neither the code nor
/// the state.
#[derive(Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Why connecting did not work, as the page the browser returns to says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No flow for this browser: never started, used, or expired.
    FlowMissing,
    StateMismatch,
    Denied,
    ProviderError,
    /// The session that started it ended, or its member left.
    SessionEnded,
    Unavailable,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Self::FlowMissing => "connect_flow_missing",
            Self::StateMismatch => "connect_state_mismatch",
            Self::Denied => "connect_denied",
            Self::ProviderError => "connect_provider_error",
            Self::SessionEnded => "connect_session_ended",
            Self::Unavailable => "connect_unavailable",
        }
    }
}

/// Starts connecting `request.provider` for the signed-in member: answers
/// the provider URL to send the browser to, and the value of the cookie
/// that binds the flow to this browser.
pub async fn start(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
    request: StartConnection,
) -> Result<Started, ServiceError> {
    // The callback is a browser's navigation: only a browser can finish.
    let user = actor.require_session()?;
    let session = actor.session_id().ok_or(ServiceError::Unauthenticated)?;
    actor.require_scope(Scope::ConnectionsWrite)?;
    let settings = &services.connections;
    let provider = settings.provider(&request.provider)?;
    let Auth::Oauth2(oauth_entry) = &provider.auth else {
        return Err(ServiceError::invalid(
            "provider",
            format!(
                "{} is connected with a key: POST /api/v1/connections",
                provider.name
            ),
        ));
    };
    let client = settings.clients.get(&provider.id).ok_or_else(|| {
        ServiceError::invalid(
            "provider",
            format!(
                "{} is not available on this server (no app is configured for it)",
                provider.name
            ),
        )
    })?;
    let scopes = super::scopes_for(
        provider,
        &oauth_entry.default_scopes,
        &oauth_entry.scopes,
        &request.scopes,
    )?;
    let params = oauth::user_params(provider, &request.params)
        .map_err(|m| ServiceError::invalid("params", m))?;
    let mut conn = services.conn().await?;
    let workspace = access::named_workspace(&mut conn, actor, workspace).await?;
    access::require_role(&mut conn, actor, workspace, Role::Member).await?;
    super::count_in(&mut conn, workspace).await?;

    let (verifier, challenge) = match oauth_entry.pkce {
        Pkce::None => (None, None),
        Pkce::Required | Pkce::Supported => {
            let (verifier, challenge) = oauth::pkce_pair()?;
            (Some(verifier), Some(challenge))
        }
    };
    let state = tokens::random(32)?;
    let authorize_url = oauth::authorize_url(
        oauth_entry,
        client,
        &params,
        &redirect_uri(services),
        &scopes,
        &state,
        challenge.as_deref(),
    )
    .map_err(|m| ServiceError::Internal(anyhow::anyhow!("{}: {m}", provider.id)))?;
    let browser_token = tokens::random(32)?;
    let params_json = serde_json::to_value(&params)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("params: {e}")))?;
    diesel::insert_into(connection_flows::table)
        .values((
            connection_flows::browser_hash.eq(tokens::digest(&browser_token)),
            connection_flows::state.eq(&state),
            connection_flows::pkce_verifier.eq(&verifier),
            connection_flows::workspace_id.eq(workspace.0),
            connection_flows::user_id.eq(user.0),
            connection_flows::session_id.eq(session.0),
            connection_flows::provider.eq(&provider.id),
            connection_flows::scopes.eq(&scopes),
            connection_flows::params.eq(&params_json),
            connection_flows::return_to.eq(safe_return_to(request.return_to.as_deref())),
            connection_flows::expires_at.eq(services.clock.now() + FLOW_LIFETIME),
        ))
        .execute(&mut conn)
        .await?;
    Ok(Started {
        browser_token,
        authorize_url,
    })
}

/// A claimed flow.
#[derive(Queryable)]
struct Flow {
    state: String,
    pkce_verifier: Option<String>,
    workspace_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    provider: String,
    scopes: Vec<String>,
    params: serde_json::Value,
    return_to: String,
}

/// Finishes a flow from the callback: answers where to send the browser
/// and the connection made, or why not (with where to send it anyway).
pub async fn finish(
    services: &Services,
    browser_token: Option<&str>,
    callback: Callback,
    meta: &RequestMeta,
) -> Result<(String, Uuid), (Failure, String)> {
    let fallback = "/integrations".to_owned();
    let internal = |error: ServiceError| {
        tracing::error!(%error, "finishing a connection");
        Failure::Unavailable
    };
    let mut conn = services
        .conn()
        .await
        .map_err(|e| (internal(e), fallback.clone()))?;
    // Claim the flow first: whatever happens next, it cannot be replayed.
    let now = services.clock.now();
    let flow: Option<Flow> = match browser_token {
        Some(token) => diesel::update(connection_flows::table)
            .filter(connection_flows::browser_hash.eq(tokens::digest(token)))
            .filter(connection_flows::used_at.is_null())
            .filter(connection_flows::expires_at.gt(now))
            .set(connection_flows::used_at.eq(now))
            .returning((
                connection_flows::state,
                connection_flows::pkce_verifier,
                connection_flows::workspace_id,
                connection_flows::user_id,
                connection_flows::session_id,
                connection_flows::provider,
                connection_flows::scopes,
                connection_flows::params,
                connection_flows::return_to,
            ))
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(|e| (internal(e.into()), fallback.clone()))?,
        None => None,
    };
    let Some(flow) = flow else {
        return Err((Failure::FlowMissing, fallback));
    };
    let back = flow.return_to.clone();
    let fail = |failure: Failure| (failure, back.clone());
    // The session that started it must still be alive, and its member
    // still able to connect.
    let live: bool = diesel::select(diesel::dsl::exists(
        sessions::table
            .find(flow.session_id)
            .filter(sessions::user_id.eq(flow.user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    ))
    .get_result(&mut conn)
    .await
    .map_err(|e| fail(internal(e.into())))?;
    let role = access::role_of(
        &mut conn,
        types::UserId(flow.user_id),
        WorkspaceId(flow.workspace_id),
    )
    .await
    .map_err(|e| fail(internal(e)))?;
    if !live || role.is_none_or(|r| r < Role::Member) {
        return Err(fail(Failure::SessionEnded));
    }
    drop(conn);
    if let Some(error) = &callback.error {
        return Err(fail(if error == "access_denied" {
            Failure::Denied
        } else {
            Failure::ProviderError
        }));
    }
    let sent = callback.state.unwrap_or_default();
    let same = sent.len() == flow.state.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            sent.as_bytes(),
            flow.state.as_bytes(),
        ));
    if !same {
        return Err(fail(Failure::StateMismatch));
    }
    let code = callback
        .code
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| fail(Failure::ProviderError))?;

    let settings = &services.connections;
    let provider = settings
        .catalogue
        .get(&flow.provider)
        .ok_or_else(|| fail(Failure::Unavailable))?;
    let (Auth::Oauth2(oauth_entry), Some(client)) =
        (&provider.auth, settings.clients.get(&provider.id))
    else {
        return Err(fail(Failure::Unavailable));
    };
    let mut params: BTreeMap<String, String> =
        serde_json::from_value(flow.params.clone()).unwrap_or_default();
    let tokens = oauth::exchange_code(
        &settings.http,
        oauth_entry,
        client,
        &params,
        code,
        &redirect_uri(services),
        flow.pkce_verifier.clone(),
    )
    .await
    .map_err(|error| {
        tracing::warn!(provider = %provider.id, %error, "a provider refused a code exchange");
        fail(Failure::ProviderError)
    })?;
    let kept = oauth::token_params(provider, &tokens).map_err(|why| {
        tracing::warn!(provider = %provider.id, %why, "a token answer's values were refused");
        fail(Failure::ProviderError)
    })?;
    params.extend(kept);
    let credential = Credential {
        access_token: Some(tokens.access_token.clone()),
        refresh_token: tokens.refresh_token.clone(),
        ..Credential::default()
    };
    let account = oauth::identity(
        &settings.http,
        provider,
        &params,
        &credential,
        Some(&tokens.answer),
    )
    .await
    .map_err(|why| {
        tracing::warn!(provider = %provider.id, %why, "learning who a new connection is failed");
        fail(Failure::ProviderError)
    })?;
    let expires_at = tokens
        .expires_in
        .map(|seconds| services.clock.now() + TimeDelta::seconds(seconds));
    let actor = Actor::Session {
        user_id: types::UserId(flow.user_id),
        session_id: types::SessionId(flow.session_id),
        csrf_token: String::new(),
    };
    let mut conn = services.conn().await.map_err(|e| fail(internal(e)))?;
    let id = super::store(
        services,
        &mut conn,
        &actor,
        meta,
        Connected {
            workspace: WorkspaceId(flow.workspace_id),
            owner: flow.user_id,
            provider: provider.id.clone(),
            account,
            scopes: tokens.scopes.clone().unwrap_or(flow.scopes),
            params,
            credential,
            expires_at,
        },
    )
    .await
    .map_err(|error| match error {
        ServiceError::Conflict { .. } => fail(Failure::Unavailable),
        other => fail(internal(other)),
    })?;
    Ok((back, id))
}

/// Deletes sign-in flows that expired a day ago or more, used or not (the
/// server's hourly purge); answers how many.
pub async fn purge(services: &Services) -> Result<usize, ServiceError> {
    let mut conn = services.conn().await?;
    Ok(diesel::delete(
        connection_flows::table
            .filter(connection_flows::expires_at.lt(services.clock.now() - TimeDelta::days(1))),
    )
    .execute(&mut conn)
    .await?)
}
