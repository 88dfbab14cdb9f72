//! Connections: a workspace's accounts at other services, from the provider
//! catalogue (docs/connections.md). Anyone in the workspace sees them (never
//! a credential); members connect them; their owner or an admin disconnects
//! them. Credentials are sealed with the secrets key, bound to the
//! connection's id, and opened only to refresh, revoke, or call the
//! provider for an agent.

pub mod bindings;
pub mod broker;
pub mod catalogue;
pub mod flows;
pub(crate) mod oauth;
pub mod refresh;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::access;
use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::{self, Entry, action};
use crate::schema::{connections, deployment_connections, users};
use crate::{ServiceError, Services};
use catalogue::{Auth, Catalogue, Provider};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::connection::{
    Connection, ConnectionStatus, NewKeyConnection, ProviderKind, ProviderParam, ProviderScope,
};

/// Connections one workspace may have.
pub const MAX_PER_WORKSPACE: i64 = 50;
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// An operator's app at a provider (`AGENTDECK_CONNECT_<ID>_CLIENT_ID` and
/// `_CLIENT_SECRET`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The catalogue and the operator's apps.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub catalogue: Arc<Catalogue>,
    pub clients: Arc<BTreeMap<String, OAuthClient>>,
    /// For token endpoints, revocation and identity: no redirects.
    pub(crate) http: reqwest::Client,
}

impl ConnectionSettings {
    pub fn new(catalogue: Catalogue, clients: BTreeMap<String, OAuthClient>) -> Self {
        Self {
            catalogue: Arc::new(catalogue),
            clients: Arc::new(clients),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(HTTP_TIMEOUT)
                .user_agent("agentdeck")
                .build()
                .unwrap_or_default(),
        }
    }

    /// Whether this server can connect `provider`.
    pub fn available(&self, provider: &Provider) -> bool {
        match provider.auth {
            Auth::Oauth2(_) => self.clients.contains_key(&provider.id),
            _ => true,
        }
    }

    fn provider(&self, id: &str) -> Result<&Provider, ServiceError> {
        self.catalogue.get(id).ok_or_else(|| {
            ServiceError::invalid("provider", format!("no provider is called {id:?}"))
        })
    }
}

impl Default for ConnectionSettings {
    /// The built-in catalogue, no apps: key providers only.
    fn default() -> Self {
        Self::new(Catalogue::built_in().unwrap_or_default(), BTreeMap::new())
    }
}

/// What is sealed: the access and refresh token, or the key (and secret).
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Credential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An API key; a user name; a client id (client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A password; a client secret (client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(…)")
    }
}

fn aad(connection: Uuid) -> Vec<u8> {
    format!("connection:{connection}").into_bytes()
}

pub(crate) fn seal(
    services: &Services,
    connection: Uuid,
    credential: &Credential,
) -> Result<Vec<u8>, ServiceError> {
    let bytes = serde_json::to_vec(credential)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("a credential: {e}")))?;
    sealer(services)?.seal_bytes(&aad(connection), &bytes)
}

pub(crate) fn open(
    services: &Services,
    connection: Uuid,
    sealed: &[u8],
) -> Result<Credential, ServiceError> {
    let bytes = sealer(services)?.open_bytes(&aad(connection), sealed)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("a sealed credential: {e}")))
}

fn sealer(services: &Services) -> Result<&crate::secrets::SecretBox, ServiceError> {
    services.secrets.as_deref().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })
}

/// A provider as the catalogue page shows it.
pub fn provider_view(
    settings: &ConnectionSettings,
    provider: &Provider,
) -> types::connection::Provider {
    let (kind, scopes, key_label, secret_label, help_url) = match &provider.auth {
        Auth::Oauth2(o) => (
            ProviderKind::Oauth2,
            scope_views(&o.scopes, &o.default_scopes),
            None,
            None,
            None,
        ),
        Auth::ClientCredentials(c) => (
            ProviderKind::ClientCredentials,
            scope_views(&c.scopes, &c.default_scopes),
            Some("Client ID".to_owned()),
            Some("Client secret".to_owned()),
            None,
        ),
        Auth::ApiKey(k) => (
            ProviderKind::ApiKey,
            Vec::new(),
            Some(k.label.clone()),
            None,
            Some(k.help_url.clone()),
        ),
        Auth::Basic(b) => (
            ProviderKind::Basic,
            Vec::new(),
            Some(b.username_label.clone()),
            Some(b.password_label.clone()),
            Some(b.help_url.clone()),
        ),
    };
    types::connection::Provider {
        id: provider.id.clone(),
        name: provider.name.clone(),
        description: provider.description.clone(),
        categories: provider.categories.clone(),
        icon_letters: provider.icon.letters.clone(),
        icon_background: provider.icon.background.clone(),
        kind,
        available: settings.available(provider),
        docs_auth: provider.docs.auth.clone(),
        docs_api: provider.docs.api.clone(),
        base_urls: provider.request.base_urls.clone(),
        scopes,
        params: provider
            .params
            .iter()
            .filter(|p| p.from == catalogue::ParamFrom::User)
            .map(|p| ProviderParam {
                name: p.name.clone(),
                label: p.label.clone(),
                default: p.default.clone(),
                example: p.example.clone(),
            })
            .collect(),
        key_label,
        secret_label,
        help_url,
    }
}

fn scope_views(scopes: &[catalogue::Scope], defaults: &[String]) -> Vec<ProviderScope> {
    scopes
        .iter()
        .map(|s| ProviderScope {
            name: s.name.clone(),
            description: s.description.clone(),
            default: defaults.contains(&s.name),
        })
        .collect()
}

/// The whole catalogue, by name. Public: it holds nothing secret.
pub fn providers(services: &Services) -> Vec<types::connection::Provider> {
    let settings = &services.connections;
    let mut list: Vec<_> = settings
        .catalogue
        .iter()
        .map(|p| provider_view(settings, p))
        .collect();
    list.sort_by_key(|p| p.name.to_lowercase());
    list
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = connections)]
pub(crate) struct ConnectionRecord {
    pub id: Uuid,
    pub provider: String,
    pub owner_id: Uuid,
    pub account_id: String,
    pub account_name: String,
    pub scopes: Vec<String>,
    pub params: serde_json::Value,
    pub status: String,
    pub broken_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
}

impl ConnectionRecord {
    fn params(&self) -> BTreeMap<String, String> {
        serde_json::from_value(self.params.clone()).unwrap_or_default()
    }

    fn view(&self, settings: &ConnectionSettings, owner_name: String, bindings: i64) -> Connection {
        Connection {
            id: self.id,
            provider: self.provider.clone(),
            provider_name: settings
                .catalogue
                .get(&self.provider)
                .map_or_else(|| self.provider.clone(), |p| p.name.clone()),
            account_id: self.account_id.clone(),
            account_name: self.account_name.clone(),
            owner_id: self.owner_id,
            owner_name,
            scopes: self.scopes.clone(),
            params: self.params(),
            status: if self.status == "broken" {
                ConnectionStatus::Broken
            } else {
                ConnectionStatus::Active
            },
            broken_reason: self.broken_reason.clone(),
            bindings,
            created_at: self.created_at,
            refreshed_at: self.refreshed_at,
            used_at: self.used_at,
        }
    }
}

async fn views(
    conn: &mut AsyncPgConnection,
    settings: &ConnectionSettings,
    workspace: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<Connection>, ServiceError> {
    let mut query = connections::table
        .inner_join(users::table)
        .filter(connections::workspace_id.eq(workspace))
        .select((ConnectionRecord::as_select(), users::display_name))
        .order((connections::provider, connections::created_at))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(connections::id.eq(id));
    }
    let rows: Vec<(ConnectionRecord, String)> = query.load(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|(r, _)| r.id).collect();
    let counts: Vec<(Uuid, i64)> = deployment_connections::table
        .filter(deployment_connections::connection_id.eq_any(&ids))
        .group_by(deployment_connections::connection_id)
        .select((
            deployment_connections::connection_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(row, owner)| {
            let bound = counts
                .iter()
                .find(|(id, _)| *id == row.id)
                .map_or(0, |(_, n)| *n);
            row.view(settings, owner, bound)
        })
        .collect())
}

/// Keys listing connections hold `connections:write`, or
/// `deployments:write` (deploying binds them).
fn require_reader(actor: &Actor) -> Result<(), ServiceError> {
    actor
        .check_key_scope(Scope::ConnectionsWrite)
        .or_else(|_| actor.check_key_scope(Scope::DeploymentsWrite))?;
    actor.require_user().map(drop)
}

/// A workspace's connections, for anyone in it.
pub async fn list(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
) -> Result<Vec<Connection>, ServiceError> {
    require_reader(actor)?;
    let mut conn = services.conn().await?;
    let workspace = access::named_workspace(&mut conn, actor, workspace).await?;
    access::member(&mut conn, actor, workspace).await?;
    views(&mut conn, &services.connections, workspace.0, None).await
}

/// One connection, for anyone in its workspace.
pub async fn get(services: &Services, actor: &Actor, id: Uuid) -> Result<Connection, ServiceError> {
    require_reader(actor)?;
    let mut conn = services.conn().await?;
    let workspace = workspace_of(&mut conn, actor, id).await?;
    views(&mut conn, &services.connections, workspace.0, Some(id))
        .await?
        .pop()
        .ok_or(NOT_FOUND)
}

const NOT_FOUND: ServiceError = ServiceError::NotFound { what: "connection" };

/// The workspace of a connection the caller is in (404 otherwise).
async fn workspace_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<WorkspaceId, ServiceError> {
    let workspace: Uuid = connections::table
        .find(id)
        .select(connections::workspace_id)
        .first(conn)
        .await
        .optional()?
        .ok_or(NOT_FOUND)?;
    access::member(conn, actor, WorkspaceId(workspace))
        .await
        .map_err(|_| NOT_FOUND)?;
    Ok(WorkspaceId(workspace))
}

/// Whether `actor` may bind or disconnect a connection `owner` made: its
/// owner, or an admin of its workspace.
pub(crate) async fn may_manage(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    workspace: WorkspaceId,
    owner: Uuid,
) -> Result<(), ServiceError> {
    let user = actor.require_user()?;
    let role = access::member(conn, actor, workspace).await?;
    if user.0 == owner || role >= Role::Admin {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "only the member who connected this account, or an admin, may do this".into(),
        ))
    }
}

/// Scopes to ask for: the defaults, then those asked, each one the
/// provider lists.
fn scopes_for(
    provider: &Provider,
    defaults: &[String],
    listed: &[catalogue::Scope],
    asked: &[String],
) -> Result<Vec<String>, ServiceError> {
    let mut scopes: Vec<String> = defaults.to_vec();
    for scope in asked {
        if !listed.iter().any(|s| &s.name == scope) {
            return Err(ServiceError::invalid(
                "scopes",
                format!("{} has no scope {scope:?}", provider.name),
            ));
        }
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    Ok(scopes)
}

async fn count_in(
    conn: &mut AsyncPgConnection,
    workspace: WorkspaceId,
) -> Result<(), ServiceError> {
    // The workspace's row lock: two connects at once count one after the
    // other.
    crate::schema::workspaces::table
        .find(workspace.0)
        .select(crate::schema::workspaces::id)
        .for_no_key_update()
        .first::<Uuid>(conn)
        .await?;
    let count: i64 = connections::table
        .filter(connections::workspace_id.eq(workspace.0))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_PER_WORKSPACE {
        return Err(ServiceError::Conflict {
            field: "provider",
            message: format!("a workspace has at most {MAX_PER_WORKSPACE} connections"),
        });
    }
    Ok(())
}

/// What a new or renewed connection holds.
pub(crate) struct Connected {
    pub workspace: WorkspaceId,
    pub owner: Uuid,
    pub provider: String,
    pub account: Option<(String, String)>,
    pub scopes: Vec<String>,
    pub params: BTreeMap<String, String>,
    pub credential: Credential,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Stores a connection, or renews the connecting person's own connection
/// to the same account (which turns a broken one active again). Someone
/// else's connection to that account is never touched: an account id may
/// be a whole organisation's (a Slack team, a Stripe account), and their
/// bindings were consented to with their credential. Answers its id.
pub(crate) async fn store(
    services: &Services,
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    connected: Connected,
) -> Result<Uuid, ServiceError> {
    let (account_id, account_name) = connected.account.clone().unwrap_or_default();
    let params = serde_json::to_value(&connected.params)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("params: {e}")))?;
    let now = services.clock.now();
    let id = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let existing: Option<Uuid> = if account_id.is_empty() {
                None
            } else {
                connections::table
                    .filter(connections::workspace_id.eq(connected.workspace.0))
                    .filter(connections::provider.eq(&connected.provider))
                    .filter(connections::owner_id.eq(connected.owner))
                    .filter(connections::account_id.eq(&account_id))
                    .select(connections::id)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?
            };
            let (id, verb) = match existing {
                Some(id) => {
                    let sealed = seal(services, id, &connected.credential)?;
                    diesel::update(connections::table.find(id))
                        .set((
                            connections::account_name.eq(&account_name),
                            connections::scopes.eq(&connected.scopes),
                            connections::params.eq(&params),
                            connections::credential.eq(&sealed),
                            connections::credential_version.eq(connections::credential_version + 1),
                            connections::expires_at.eq(connected.expires_at),
                            connections::status.eq("active"),
                            connections::broken_reason.eq(None::<String>),
                            connections::broken_at.eq(None::<DateTime<Utc>>),
                            connections::refreshed_at.eq(now),
                            connections::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    (id, action::CONNECTION_RENEWED)
                }
                None => {
                    count_in(conn, connected.workspace).await?;
                    let id = Uuid::new_v4();
                    let sealed = seal(services, id, &connected.credential)?;
                    diesel::insert_into(connections::table)
                        .values((
                            connections::id.eq(id),
                            connections::workspace_id.eq(connected.workspace.0),
                            connections::provider.eq(&connected.provider),
                            connections::owner_id.eq(connected.owner),
                            connections::account_id.eq(&account_id),
                            connections::account_name.eq(&account_name),
                            connections::scopes.eq(&connected.scopes),
                            connections::params.eq(&params),
                            connections::credential.eq(&sealed),
                            connections::expires_at.eq(connected.expires_at),
                            connections::created_at.eq(now),
                            connections::updated_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                    (id, action::CONNECTION_CREATED)
                }
            };
            audit::record(
                conn,
                Entry {
                    action: verb,
                    user: Some(types::UserId(connected.owner)),
                    actor,
                    workspace: Some(connected.workspace),
                    target_type: "connection",
                    target_id: id.to_string(),
                    meta,
                    details: json!({
                        "provider": connected.provider,
                        "account": account_name,
                        "scopes": connected.scopes,
                    }),
                },
            )
            .await?;
            if let Some(expires_at) = connected.expires_at {
                refresh::schedule(conn, id, now, expires_at).await?;
            }
            Ok(id)
        })
        .await?;
    Ok(id)
}

/// Connects a provider with a key, basic credentials, or the person's own
/// app (client credentials). The provider's identity call checks the
/// credential first: a key it refuses is not stored (422).
pub async fn connect_key(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    workspace: Option<&str>,
    request: NewKeyConnection,
) -> Result<Connection, ServiceError> {
    actor.require_scope(Scope::ConnectionsWrite)?;
    let user = actor.require_user()?;
    let settings = &services.connections;
    let provider = settings.provider(&request.provider)?;
    let key = request.key.trim().to_owned();
    let field_text = |field: &'static str, value: &str| {
        if value.is_empty() || value.len() > 4096 || value.chars().any(char::is_control) {
            Err(ServiceError::invalid(
                field,
                "must be 1 to 4096 characters, on one line",
            ))
        } else {
            Ok(())
        }
    };
    field_text("key", &key)?;
    let params = oauth::user_params(provider, &request.params)
        .map_err(|m| ServiceError::invalid("params", m))?;
    let mut conn = services.conn().await?;
    let workspace = access::named_workspace(&mut conn, actor, workspace).await?;
    access::require_role(&mut conn, actor, workspace, Role::Member).await?;
    count_in(&mut conn, workspace).await?;
    drop(conn);
    let secret = request.secret.map(|s| s.trim().to_owned());
    let (credential, scopes, expires_at) = match &provider.auth {
        Auth::Oauth2(_) => {
            return Err(ServiceError::invalid(
                "provider",
                format!(
                    "{} is connected by signing in there, not with a key",
                    provider.name
                ),
            ));
        }
        Auth::ApiKey(k) => {
            if !k.prefixes.is_empty() && !k.prefixes.iter().any(|p| key.starts_with(p.as_str())) {
                return Err(ServiceError::invalid(
                    "key",
                    format!(
                        "a {} {} starts with {}",
                        provider.name,
                        k.label,
                        k.prefixes.join(" or ")
                    ),
                ));
            }
            let credential = Credential {
                key: Some(key.clone()),
                ..Credential::default()
            };
            (credential, Vec::new(), None)
        }
        Auth::Basic(_) => {
            let secret = secret.unwrap_or_default();
            field_text("secret", &secret)?;
            let credential = Credential {
                key: Some(key.clone()),
                secret: Some(secret),
                ..Credential::default()
            };
            (credential, Vec::new(), None)
        }
        Auth::ClientCredentials(c) => {
            let secret = secret.unwrap_or_default();
            field_text("secret", &secret)?;
            let scopes = scopes_for(provider, &c.default_scopes, &c.scopes, &request.scopes)?;
            let app = OAuthClient {
                id: key.clone(),
                secret: secret.clone(),
            };
            let tokens = oauth::client_credentials(&settings.http, c, &app, &params, &scopes)
                .await
                .map_err(|error| match error {
                    oauth::TokenError::Refused(why) => ServiceError::invalid(
                        "key",
                        format!("{} refused this client id and secret ({why})", provider.name),
                    ),
                    oauth::TokenError::Unavailable(why) => {
                        tracing::warn!(provider = %provider.id, %why, "a client credentials grant failed");
                        ServiceError::Unavailable(format!("{} did not answer", provider.name))
                    }
                })?;
            let expires_at = tokens
                .expires_in
                .map(|s| services.clock.now() + chrono::TimeDelta::seconds(s));
            let credential = Credential {
                access_token: Some(tokens.access_token),
                key: Some(key.clone()),
                secret: Some(secret),
                ..Credential::default()
            };
            (credential, tokens.scopes.unwrap_or(scopes), expires_at)
        }
    };
    let account = oauth::identity(&settings.http, provider, &params, &credential, None)
        .await
        .map_err(|why| {
            ServiceError::invalid(
                "key",
                format!("{} did not accept this credential ({why})", provider.name),
            )
        })?
        .or_else(|| {
            // No way to tell who it is: name it by its last characters.
            let tail: String = key
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Some((String::new(), format!("{} key …{tail}", provider.name)))
        });
    let mut conn = services.conn().await?;
    let id = store(
        services,
        &mut conn,
        actor,
        meta,
        Connected {
            workspace,
            owner: user.0,
            provider: provider.id.clone(),
            account,
            scopes,
            params,
            credential,
            expires_at,
        },
    )
    .await?;
    views(&mut conn, settings, workspace.0, Some(id))
        .await?
        .pop()
        .ok_or(NOT_FOUND)
}

/// Disconnects: its bindings end at once (deployments using it get "not
/// connected" from the next call), then the provider is told to revoke the
/// grant where its entry says how. For the connection's owner or an admin.
pub async fn disconnect(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::ConnectionsWrite)?;
    let mut conn = services.conn().await?;
    let workspace = workspace_of(&mut conn, actor, id).await?;
    let (provider_id, owner, sealed, params, account): (
        String,
        Uuid,
        Vec<u8>,
        serde_json::Value,
        String,
    ) = connections::table
        .find(id)
        .select((
            connections::provider,
            connections::owner_id,
            connections::credential,
            connections::params,
            connections::account_name,
        ))
        .first(&mut conn)
        .await?;
    may_manage(&mut conn, actor, workspace, owner).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::delete(connections::table.find(id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            Entry {
                action: action::CONNECTION_DELETED,
                user: None,
                actor,
                workspace: Some(workspace),
                target_type: "connection",
                target_id: id.to_string(),
                meta,
                details: json!({ "provider": provider_id, "account": account }),
            },
        )
        .await
    })
    .await?;
    drop(conn);
    let settings = &services.connections;
    if let Some(provider) = settings.catalogue.get(&provider_id) {
        let credential = open(services, id, &sealed)?;
        let params: BTreeMap<String, String> = serde_json::from_value(params).unwrap_or_default();
        if let Err(why) = oauth::revoke(
            &settings.http,
            provider,
            settings.clients.get(&provider_id),
            &params,
            &credential,
        )
        .await
        {
            tracing::warn!(connection = %id, provider = %provider_id, %why, "revoking a grant at its provider failed; the connection is deleted here");
        }
    }
    Ok(())
}
