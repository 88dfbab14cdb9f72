//! The runtime's [`ConnectionBroker`] for one run: the providers its
//! manifest lists, the connection bound to each (a deployment's bindings,
//! or for a test run in the editor the author's own connections), and the
//! credential of each call. The binding is looked up on every call (one
//! query, with the credential's version and expiry), so unbinding or
//! disconnecting stops an agent at its next call; the decrypted credential
//! is kept for the run while that version stays current and not about to
//! expire. Nothing here logs a credential.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use runtime::CallError;
use runtime::connections::{ConnectionBroker, Grant, Placement, RateLimitHeaders};
use uuid::Uuid;

use super::{catalogue, oauth, refresh};
use crate::schema::{connections, deployment_connections, workspace_members};
use crate::{ServiceError, Services};
use types::manifest::Manifest;

/// Whose connections a run uses.
#[derive(Clone, Copy)]
enum Source {
    /// A deployment's bindings made for the version this run executes
    /// (the deployment's, and its version, when the run started).
    Deployment(Uuid, Uuid),
    /// An author's own (an editor's test run).
    Author(Uuid),
}

pub struct Broker {
    services: Services,
    source: Source,
    declared: Vec<String>,
    /// Provider → connection, as found when the run started.
    bound: BTreeMap<String, Uuid>,
    used: AtomicBool,
    /// Provider → the grant made last in this run, by credential version.
    grants: Mutex<BTreeMap<String, Grant>>,
}

/// What the check of a call found: the connection, its credential's
/// version and expiry.
struct Current {
    id: Uuid,
    version: i64,
    expires_at: Option<DateTime<Utc>>,
}

/// The broker of a deployment's run.
pub async fn for_deployment(
    services: &Services,
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    manifest: &Manifest,
) -> Result<Arc<dyn ConnectionBroker>, ServiceError> {
    let (version, bound) = super::bindings::bound_for_run(conn, deployment, manifest).await?;
    Ok(broker(
        services,
        Source::Deployment(deployment, version),
        manifest,
        bound,
    ))
}

/// The broker of an editor's test run: the author's own connections.
pub async fn for_author(
    services: &Services,
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    author: Uuid,
    manifest: &Manifest,
) -> Result<Arc<dyn ConnectionBroker>, ServiceError> {
    let bound = super::bindings::authors_own(conn, workspace, author, manifest).await?;
    Ok(broker(services, Source::Author(author), manifest, bound))
}

fn broker(
    services: &Services,
    source: Source,
    manifest: &Manifest,
    bound: Vec<(String, Uuid)>,
) -> Arc<dyn ConnectionBroker> {
    Arc::new(Broker {
        services: services.clone(),
        source,
        declared: manifest
            .capabilities
            .connections
            .iter()
            .map(|n| n.provider.clone())
            .collect(),
        bound: bound.into_iter().collect(),
        used: AtomicBool::new(false),
        grants: Mutex::default(),
    })
}

impl Broker {
    /// The connection for `provider`, if it is still bound (or still the
    /// author's, working).
    async fn still_bound(&self, provider: &str) -> Result<Current, CallError> {
        let unbound = || {
            CallError::Denied(match self.source {
                Source::Deployment(..) => format!(
                    "no {provider} connection is bound to this deployment (or it was bound for another version, or its owner left the workspace): bind one in its Connections panel"
                ),
                Source::Author(_) => format!(
                    "connect your own {provider} account (Integrations) to use it in test runs"
                ),
            })
        };
        let id = *self.bound.get(provider).ok_or_else(unbound)?;
        let mut conn = self.services.conn().await.map_err(internal)?;
        type Found = (i64, Option<DateTime<Utc>>);
        // The connection's owner must still be in its workspace: someone
        // who left takes their consent with them.
        let owner_stays = diesel::dsl::exists(
            workspace_members::table
                .filter(workspace_members::workspace_id.eq(connections::workspace_id))
                .filter(workspace_members::user_id.eq(connections::owner_id)),
        );
        let found: Option<Found> = match self.source {
            Source::Deployment(deployment, version) => deployment_connections::table
                .inner_join(connections::table)
                .filter(deployment_connections::deployment_id.eq(deployment))
                .filter(deployment_connections::provider.eq(provider))
                .filter(deployment_connections::connection_id.eq(id))
                // Bound for the version this run executes: consent was
                // given for that code.
                .filter(deployment_connections::version_id.eq(version))
                .filter(owner_stays)
                .select((connections::credential_version, connections::expires_at))
                .first(&mut conn)
                .await
                .optional()
                .map_err(|e| internal(e.into()))?,
            Source::Author(author) => connections::table
                .find(id)
                .filter(connections::owner_id.eq(author))
                .filter(owner_stays)
                .select((connections::credential_version, connections::expires_at))
                .first(&mut conn)
                .await
                .optional()
                .map_err(|e| internal(e.into()))?,
        };
        let (version, expires_at) = found.ok_or_else(unbound)?;
        if !self.used.swap(true, Ordering::Relaxed) {
            diesel::update(connections::table.find(id))
                .set(connections::used_at.eq(self.services.clock.now()))
                .execute(&mut conn)
                .await
                .map_err(|e| internal(e.into()))?;
        }
        Ok(Current {
            id,
            version,
            expires_at,
        })
    }

    /// The grant kept for `provider`, if it is of the current credential
    /// and not about to expire.
    fn kept(&self, provider: &str, current: &Current) -> Option<Grant> {
        let fresh = current
            .expires_at
            .is_none_or(|at| at - self.services.clock.now() > refresh::BEFORE_USE);
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants
            .get(provider)
            .filter(|grant| fresh && grant.version == current.version)
            .cloned()
    }

    /// The grant for `provider`; after a refusal of `refused`, a fresh one,
    /// or `None` when refreshing would not help.
    async fn grant_for(
        &self,
        provider: &str,
        refused: Option<i64>,
    ) -> Result<Option<Grant>, CallError> {
        let current = self.still_bound(provider).await?;
        if refused.is_none()
            && let Some(grant) = self.kept(provider, &current)
        {
            return Ok(Some(grant));
        }
        let id = current.id;
        let usable = match refused {
            None => refresh::current(&self.services, id).await.map(Some),
            Some(version) => refresh::after_refusal(&self.services, id, version).await,
        }
        .map_err(|error| match error {
            ServiceError::Conflict { message, .. } => CallError::Failed(message),
            ServiceError::NotFound { .. } => {
                CallError::Denied(format!("the {provider} connection was disconnected"))
            }
            ServiceError::Unavailable(message) => CallError::Failed(message),
            other => internal(other),
        })?;
        let Some(usable) = usable else {
            return Ok(None);
        };
        let entry = self
            .services
            .connections
            .catalogue
            .get(provider)
            .ok_or_else(|| {
                CallError::Failed(format!("{provider} is not in this server's catalogue"))
            })?;
        let placement = oauth::placement(entry, &usable.credential).ok_or_else(|| {
            CallError::Failed(format!("the {provider} connection has no credential"))
        })?;
        let values = oauth::values(&usable.params);
        let base_urls = entry
            .request
            .base_urls
            .iter()
            .map(|template| {
                catalogue::fill(template, &values)
                    .ok()
                    .and_then(|url| url::Url::parse(&url).ok())
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CallError::Failed(format!("{provider}'s API address is unknown")))?;
        let mut secrets: Vec<String> = [
            usable.credential.access_token.clone(),
            usable.credential.refresh_token.clone(),
            usable.credential.key.clone(),
            usable.credential.secret.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let placement = match placement {
            oauth::Placement::Header(name, value) => {
                secrets.push(value.clone());
                // The bare credential in the value too (the base64 of
                // `Basic …`), not the scheme's word.
                secrets.extend(
                    value
                        .split_whitespace()
                        .filter(|part| part.len() >= 8)
                        .map(str::to_owned),
                );
                Placement::Header { name, value }
            }
            oauth::Placement::Query(name, value) => {
                // As it goes out in the URL, form-encoded.
                secrets.push(form_urlencoded::byte_serialize(value.as_bytes()).collect());
                Placement::Query { name, value }
            }
        };
        // The longest first, so a header value goes before the token in it.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let grant = Grant {
            base_urls,
            placement,
            headers: entry
                .request
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            version: usable.version,
            rate_limit: RateLimitHeaders {
                retry_after: entry.rate_limit.retry_after.clone(),
                statuses: if entry.rate_limit.statuses.is_empty() {
                    vec![429]
                } else {
                    entry.rate_limit.statuses.clone()
                },
            },
            secrets,
        };
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.to_owned(), grant.clone());
        Ok(Some(grant))
    }
}

fn internal(error: ServiceError) -> CallError {
    tracing::error!(%error, "a connection call failed inside the server");
    CallError::Failed("the connection could not be used (a server error)".into())
}

impl ConnectionBroker for Broker {
    fn providers(&self) -> Vec<String> {
        self.declared.clone()
    }

    fn grant<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, Result<Grant, CallError>> {
        Box::pin(async move {
            self.grant_for(provider, None).await?.ok_or_else(|| {
                internal(ServiceError::Internal(anyhow::anyhow!(
                    "a grant without a refusal came back empty"
                )))
            })
        })
    }

    fn refused<'a>(
        &'a self,
        provider: &'a str,
        version: i64,
    ) -> BoxFuture<'a, Result<Option<Grant>, CallError>> {
        Box::pin(self.grant_for(provider, Some(version)))
    }
}
