//! Connections: a workspace's accounts at other services, from the provider
//! catalogue. What the catalogue says of a provider, a connection as its
//! workspace sees it (never its credential), and the requests that make one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a provider is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Sign in at the provider (OAuth 2 authorization code).
    Oauth2,
    /// The person's own app's client id and secret (OAuth 2 client
    /// credentials).
    ClientCredentials,
    /// A key the person pastes.
    ApiKey,
    /// A user name and password (or key and secret).
    Basic,
}

/// A scope a manifest may ask for, as the consent screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderScope {
    pub name: String,
    /// What it lets an agent do.
    pub description: String,
    /// Always asked for.
    pub default: bool,
}

/// A value the person gives when connecting (a Microsoft tenant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderParam {
    pub name: String,
    pub label: String,
    pub default: Option<String>,
    pub example: String,
}

/// One entry of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider {
    /// What manifests name it by (`github`).
    pub id: String,
    pub name: String,
    pub description: String,
    pub categories: Vec<String>,
    /// Letters on a coloured tile.
    pub icon_letters: String,
    /// `#rrggbb`.
    pub icon_background: String,
    pub kind: ProviderKind,
    /// Whether this server can connect it: OAuth providers need a client id
    /// and secret from the operator.
    pub available: bool,
    /// The provider's own documentation of its authorization and its API.
    pub docs_auth: String,
    pub docs_api: String,
    /// Where a connected credential may be sent.
    pub base_urls: Vec<String>,
    pub scopes: Vec<ProviderScope>,
    pub params: Vec<ProviderParam>,
    /// For keys and basic credentials: what the form asks for, and where
    /// to get it.
    pub key_label: Option<String>,
    pub secret_label: Option<String>,
    pub help_url: Option<String>,
}

/// Whether a connection works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// Its refresh failed for good (revoked at the provider, or expired):
    /// it needs connecting again.
    Broken,
}

/// A connected account, as anyone in its workspace sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Connection {
    pub id: uuid::Uuid,
    pub provider: String,
    pub provider_name: String,
    /// The account's stable id at the provider, when it has one.
    pub account_id: String,
    /// "Connected as …".
    pub account_name: String,
    /// Who connected it: they or an admin may bind or disconnect it.
    pub owner_id: uuid::Uuid,
    pub owner_name: String,
    /// What the provider granted.
    pub scopes: Vec<String>,
    /// Values besides the credential (a tenant, an instance URL).
    pub params: BTreeMap<String, String>,
    pub status: ConnectionStatus,
    pub broken_reason: Option<String>,
    /// Deployments that use it.
    pub bindings: i64,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub refreshed_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::timestamp::option")]
    pub used_at: Option<DateTime<Utc>>,
}

/// Starting to connect an OAuth provider: the browser goes to
/// `authorize_url` and comes back to `/connect/callback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartConnection {
    pub provider: String,
    /// Scopes besides the provider's defaults.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Values the provider asks for (a tenant).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// A path of this site to come back to.
    #[serde(default)]
    pub return_to: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionStarted {
    /// Where to send the browser.
    pub authorize_url: String,
}

/// Connecting with a key, basic credentials, or a client id and secret.
/// Its `Debug` shows neither the key nor the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewKeyConnection {
    pub provider: String,
    /// The key; the user name for basic; the client id for client
    /// credentials.
    pub key: String,
    /// The password for basic; the client secret for client credentials.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// One connection a deployment's agent needs, and what it is bound to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentConnection {
    pub provider: String,
    pub provider_name: String,
    /// Whether this server can connect the provider at all.
    pub available: bool,
    /// The scopes the agent would use, with what each lets it do: what the
    /// binder consents to.
    pub scopes: Vec<ProviderScope>,
    /// The bound connection.
    pub connection: Option<Connection>,
    pub bound_by: Option<String>,
    #[serde(default, with = "crate::timestamp::option")]
    pub bound_at: Option<DateTime<Utc>>,
    /// Bound for another version of the agent than the deployment runs
    /// now: unused until someone reviews the consent and binds again.
    #[serde(default)]
    pub stale: bool,
    /// The workspace's connections of this provider that granted every
    /// scope asked: what may be bound.
    pub candidates: Vec<uuid::Uuid>,
}

/// A deployment's connections, and what its consent screen names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentConnections {
    pub agent_name: String,
    /// Who wrote the agent.
    pub author_name: String,
    pub deployment_name: String,
    /// The version the deployment runs, which a binding's consent is for.
    pub version: String,
    pub version_id: uuid::Uuid,
    pub items: Vec<DeploymentConnection>,
}

/// Binding a deployment's need to a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindConnection {
    pub connection: uuid::Uuid,
    /// The binder read the consent screen and agreed.
    pub consented: bool,
    /// The scopes consented to: exactly the ones the agent asks for.
    #[serde(default)]
    pub consent: Vec<String>,
    /// The version the consent screen showed (`version_id`): refused with
    /// 409 when the deployment moved to another since.
    #[serde(default)]
    pub version_id: Option<uuid::Uuid>,
}

impl std::fmt::Debug for NewKeyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKeyConnection")
            .field("provider", &self.provider)
            .field("scopes", &self.scopes)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}
