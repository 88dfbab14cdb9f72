//! Keeping credentials usable: a queued job refreshes an access token
//! before it expires, a caller refreshes one that is about to, and a caller
//! whose token the provider refused (401) refreshes it unless someone did
//! meanwhile. One refresh at a time per connection, across processes: the
//! refresh holds the connection's row lock while it calls the provider, so
//! a second caller waits, then finds the new token (providers that rotate
//! refresh tokens see each used once). A refresh the provider refuses for
//! good marks the connection broken and mails its owner.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::catalogue::Auth;
use super::{Credential, OAuthClient, oauth};
use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::{self, Entry, action};
use crate::jobs::{NewJob, enqueue};
use crate::schema::{connections, users, workspaces};
use crate::{ServiceError, Services};

/// `connection.refresh`: `{"connection": id, "expires_at": …}`.
pub const REFRESH_JOB: &str = "connection.refresh";
/// A token this close to expiring is refreshed before use.
/// The shortest time between two refreshes that refused calls ask for.
const REFUSAL_PAUSE: TimeDelta = TimeDelta::seconds(60);
pub(crate) const BEFORE_USE: TimeDelta = TimeDelta::seconds(60);

/// A credential ready to put on a request.
pub struct Usable {
    pub credential: Credential,
    /// Give it back to [`after_refusal`] if the provider refuses it.
    pub version: i64,
    pub provider: String,
    pub params: BTreeMap<String, String>,
}

/// Why a refresh is wanted.
#[derive(Clone, Copy)]
enum Why {
    /// It expires within [`BEFORE_USE`].
    Expiring,
    /// The queued job made for this expiry.
    Scheduled(DateTime<Utc>),
    /// The provider refused the token of this version.
    Refused(i64),
}

fn broken(provider: &str) -> ServiceError {
    ServiceError::Conflict {
        field: "connection",
        message: format!("the {provider} connection is broken: connect the account again"),
    }
}

/// Queues the refresh of a token that expires at `expires_at`: a fifth of
/// its life before, at most ten minutes before.
pub(crate) async fn schedule(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let lead = ((expires_at - now) / 5).clamp(TimeDelta::zero(), TimeDelta::minutes(10));
    enqueue(
        conn,
        NewJob::new(
            REFRESH_JOB,
            json!({ "connection": connection, "expires_at": expires_at }),
        )
        .run_at(expires_at - lead)
        .unique(format!(
            "{REFRESH_JOB}:{connection}:{}",
            expires_at.timestamp()
        )),
    )
    .await?;
    Ok(())
}

type Row = (
    String,
    String,
    Vec<u8>,
    i64,
    Option<DateTime<Utc>>,
    serde_json::Value,
);

fn usable(services: &Services, id: Uuid, row: Row) -> Result<Usable, ServiceError> {
    let (provider, _, sealed, version, _, params) = row;
    Ok(Usable {
        credential: super::open(services, id, &sealed)?,
        version,
        provider,
        params: serde_json::from_value(params).unwrap_or_default(),
    })
}

fn columns() -> (
    connections::provider,
    connections::status,
    connections::credential,
    connections::credential_version,
    connections::expires_at,
    connections::params,
) {
    (
        connections::provider,
        connections::status,
        connections::credential,
        connections::credential_version,
        connections::expires_at,
        connections::params,
    )
}

/// The connection's credential, refreshed first when it is about to
/// expire. The caller has checked it may use the connection.
pub async fn current(services: &Services, id: Uuid) -> Result<Usable, ServiceError> {
    let mut conn = services.conn().await?;
    let row: Row = connections::table
        .find(id)
        .select(columns())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "connection" })?;
    if row.1 == "broken" {
        return Err(broken(&row.0));
    }
    let expiring = row
        .4
        .is_some_and(|at| at - services.clock.now() <= BEFORE_USE);
    if !expiring {
        return usable(services, id, row);
    }
    drop(conn);
    refresh(services, id, Why::Expiring).await?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("an expiring token was not refreshed"))
    })
}

/// After the provider refused the token of `version`: the token someone
/// else refreshed meanwhile, or a refreshed one; `None` when refreshing
/// would not help (nothing to refresh with, or a refusal had it refreshed
/// within the last minute): the refusal is the caller's request's.
pub async fn after_refusal(
    services: &Services,
    id: Uuid,
    version: i64,
) -> Result<Option<Usable>, ServiceError> {
    refresh(services, id, Why::Refused(version)).await
}

/// `connection.refresh`: refreshes the token if it still expires when the
/// job was made for (otherwise someone refreshed it, and queued the next).
pub async fn run_job(services: &Services, payload: &serde_json::Value) -> Result<(), ServiceError> {
    let id = payload
        .get("connection")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<Uuid>().ok());
    let at = payload
        .get("expires_at")
        .and_then(|v| v.as_str())
        .and_then(types::timestamp::parse);
    let (Some(id), Some(at)) = (id, at) else {
        tracing::warn!(%payload, "a connection.refresh job without its connection");
        return Ok(());
    };
    match refresh(services, id, Why::Scheduled(at)).await {
        // Gone, or broken (its owner was told): nothing left to do.
        Ok(_) | Err(ServiceError::NotFound { .. } | ServiceError::Conflict { .. }) => Ok(()),
        Err(other) => Err(other),
    }
}

enum Outcome {
    Usable(Usable),
    Broken(String),
    /// The provider refused a call, and refreshing would not help (a key,
    /// a token with no refresh token) or was done a moment ago: the
    /// caller's request is what it refuses, not the connection.
    Refused,
}

async fn refresh(services: &Services, id: Uuid, why: Why) -> Result<Option<Usable>, ServiceError> {
    let mut conn = services.conn().await?;
    let outcome = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            // The lock: one refresh at a time per connection, whichever
            // process asks.
            let row: Row = connections::table
                .find(id)
                .select(columns())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or(ServiceError::NotFound { what: "connection" })?;
            if row.1 == "broken" {
                return Ok(Outcome::Broken(row.0));
            }
            let now = services.clock.now();
            let done_meanwhile = match why {
                Why::Expiring => row.4.is_none_or(|at| at - now > BEFORE_USE),
                Why::Scheduled(at) => row.4 != Some(at),
                Why::Refused(version) => row.3 != version,
            };
            if done_meanwhile {
                return usable(services, id, row).map(Outcome::Usable);
            }
            let provider_id = row.0.clone();
            let current = usable(services, id, row)?;
            let settings = &services.connections;
            let provider = settings
                .catalogue
                .get(&provider_id)
                .ok_or_else(|| ServiceError::Unavailable(format!("{provider_id} is not in this server's catalogue")))?;
            if let Why::Refused(_) = why {
                // An agent decides what it calls: a refusal says little
                // about the connection. Nothing to refresh with, or a
                // refresh a refusal asked for within the last minute: the
                // refusal goes back to the caller and the connection stays.
                let refreshable = match &provider.auth {
                    Auth::Oauth2(_) => current.credential.refresh_token.is_some(),
                    Auth::ClientCredentials(_) => true,
                    Auth::ApiKey(_) | Auth::Basic(_) => false,
                };
                let last: Option<DateTime<Utc>> = connections::table
                    .find(id)
                    .select(connections::refusal_refresh_at)
                    .first(conn)
                    .await?;
                if !refreshable || last.is_some_and(|at| now - at < REFUSAL_PAUSE) {
                    return Ok(Outcome::Refused);
                }
            }
            let answer = match &provider.auth {
                Auth::Oauth2(entry) => {
                    let client = settings.clients.get(&provider.id).ok_or_else(|| {
                        ServiceError::Unavailable(format!("no app is configured for {provider_id}"))
                    })?;
                    match current.credential.refresh_token.as_deref() {
                        Some(token) => {
                            oauth::refresh(&settings.http, entry, client, &current.params, token).await
                        }
                        None => Err(oauth::TokenError::Refused(
                            "the token expired or was refused, and there is no refresh token"
                                .into(),
                        )),
                    }
                }
                Auth::ClientCredentials(entry) => {
                    let app = OAuthClient {
                        id: current.credential.key.clone().unwrap_or_default(),
                        secret: current.credential.secret.clone().unwrap_or_default(),
                    };
                    let scopes: Vec<String> = connections::table
                        .find(id)
                        .select(connections::scopes)
                        .first(conn)
                        .await?;
                    oauth::client_credentials(&settings.http, entry, &app, &current.params, &scopes)
                        .await
                }
                // A key does not refresh: refused is refused.
                Auth::ApiKey(_) | Auth::Basic(_) => Err(oauth::TokenError::Refused(
                    "the provider refused the key".into(),
                )),
            };
            match answer {
                Ok(tokens) => {
                    let credential = Credential {
                        access_token: Some(tokens.access_token),
                        // Providers that do not rotate send none back.
                        refresh_token: tokens
                            .refresh_token
                            .or(current.credential.refresh_token.clone()),
                        key: current.credential.key.clone(),
                        secret: current.credential.secret.clone(),
                    };
                    let expires_at = tokens.expires_in.map(|s| now + TimeDelta::seconds(s));
                    let sealed = super::seal(services, id, &credential)?;
                    let version: i64 = diesel::update(connections::table.find(id))
                        .set((
                            connections::credential.eq(&sealed),
                            connections::credential_version.eq(connections::credential_version + 1),
                            connections::expires_at.eq(expires_at),
                            connections::refreshed_at.eq(now),
                            connections::updated_at.eq(now),
                        ))
                        .returning(connections::credential_version)
                        .get_result(conn)
                        .await?;
                    if let Why::Refused(_) = why {
                        diesel::update(connections::table.find(id))
                            .set(connections::refusal_refresh_at.eq(now))
                            .execute(conn)
                            .await?;
                    }
                    if let Some(at) = expires_at {
                        schedule(conn, id, now, at).await?;
                    }
                    Ok(Outcome::Usable(Usable {
                        credential,
                        version,
                        provider: provider_id,
                        params: current.params,
                    }))
                }
                Err(oauth::TokenError::Refused(why)) => {
                    mark_broken(services, conn, id, &provider.name, &why).await?;
                    Ok(Outcome::Broken(provider_id))
                }
                Err(oauth::TokenError::Unavailable(why)) => {
                    tracing::warn!(connection = %id, provider = %provider_id, %why, "refreshing a token failed; it is tried again");
                    Err(ServiceError::Unavailable(format!(
                        "{} did not answer a token refresh",
                        provider.name
                    )))
                }
            }
        })
        .await?;
    match outcome {
        Outcome::Usable(usable) => Ok(Some(usable)),
        Outcome::Broken(provider) => Err(broken(&provider)),
        Outcome::Refused => Ok(None),
    }
}

/// Marks a connection broken, audits it, and mails its owner.
async fn mark_broken(
    services: &Services,
    conn: &mut AsyncPgConnection,
    id: Uuid,
    provider_name: &str,
    why: &str,
) -> Result<(), ServiceError> {
    let now = services.clock.now();
    let reason: String = format!("{provider_name} refused to renew access ({why})")
        .chars()
        .take(500)
        .collect();
    let (workspace, owner, account): (Uuid, Uuid, String) =
        diesel::update(connections::table.find(id))
            .set((
                connections::status.eq("broken"),
                connections::broken_reason.eq(&reason),
                connections::broken_at.eq(now),
                connections::updated_at.eq(now),
            ))
            .returning((
                connections::workspace_id,
                connections::owner_id,
                connections::account_name,
            ))
            .get_result(conn)
            .await?;
    audit::record(
        conn,
        Entry {
            action: action::CONNECTION_BROKEN,
            user: Some(types::UserId(owner)),
            actor: &Actor::Anonymous,
            workspace: Some(types::WorkspaceId(workspace)),
            target_type: "connection",
            target_id: id.to_string(),
            meta: &RequestMeta::new("", ""),
            details: json!({ "provider": provider_name, "account": account, "reason": reason }),
        },
    )
    .await?;
    let (email, name): (Option<String>, String) = users::table
        .find(owner)
        .select((users::email, users::display_name))
        .first(conn)
        .await?;
    let (slug, workspace_name): (String, String) = workspaces::table
        .find(workspace)
        .select((workspaces::slug, workspaces::name))
        .first(conn)
        .await?;
    if let Some(email) = email {
        let link = format!("{}/integrations?workspace={slug}", services.public_url);
        let mail = crate::mail::templates::connection_broken(
            &email,
            &name,
            provider_name,
            &account,
            &workspace_name,
            &link,
        );
        crate::mail::enqueue(conn, &mail).await?;
    }
    tracing::info!(connection = %id, provider = provider_name, "a connection is broken");
    Ok(())
}
