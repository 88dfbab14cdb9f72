//! OAuth 2.1 for MCP clients, as the MCP authorization specification
//! describes it: the documents clients discover (RFC 9728, RFC 8414),
//! dynamic client registration (RFC 7591), tokens (RFC 6749 with PKCE, RFC
//! 7636, and resource indicators, RFC 8707), and the consent page's view.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::WorkspaceId;

/// Protected-resource metadata of `/mcp` (RFC 9728).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<String>,
    pub resource_name: String,
    pub resource_documentation: String,
}

/// Authorization-server metadata (RFC 8414).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub registration_endpoint: String,
    pub revocation_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub client_id_metadata_document_supported: bool,
    pub service_documentation: String,
}

/// A client's registration request (RFC 7591 § 2); other fields are
/// ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientRegistration {
    /// Where the code goes back to: `https://…`, `http://localhost…` (or
    /// 127.0.0.1, [::1]), or a native app's own scheme with a dot in it
    /// (`com.example.app:/callback`). No fragments; matched exactly.
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    /// `none` (a public client, the default), `client_secret_basic` or
    /// `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    /// `native` or `web`.
    #[serde(default)]
    pub application_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// A registered client (RFC 7591 § 3.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredClient {
    pub client_id: String,
    /// Shown once, for a confidential client only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// 0: the secret does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub client_id_issued_at: i64,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub application_type: String,
    pub scope: String,
}

/// The token endpoint's form (RFC 6749 § 4.1.3 and § 6, RFC 7636, RFC
/// 8707).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub code_verifier: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Tokens (RFC 6749 § 5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenAnswer {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Used once: each use answers a new one.
    pub refresh_token: String,
    pub scope: String,
}

/// The revocation endpoint's form (RFC 7009).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    pub token: String,
    #[serde(default)]
    pub token_type_hint: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// An OAuth error (RFC 6749 § 5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

/// An authorization waiting for its person, as the consent page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRequest {
    pub id: uuid::Uuid,
    /// What the client calls itself (its own word, unverified).
    pub client_name: String,
    /// Where the approval goes: the redirect address's scheme and host.
    pub redirect_to: String,
    /// What it may do once approved, in plain words.
    pub grants: Vec<String>,
    #[serde(with = "crate::timestamp")]
    pub expires_at: DateTime<Utc>,
    /// `pending`, `approved`, `denied` or `used`.
    pub status: String,
}

/// Approving (for `workspace`) or denying an authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecideConsent {
    pub id: uuid::Uuid,
    pub approve: bool,
    /// The workspace whose deployments the client may call; the personal
    /// one when absent.
    #[serde(default)]
    pub workspace: Option<WorkspaceId>,
}

/// Where the browser goes next: back to the client, with a code or an
/// error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentDecided {
    pub redirect: String,
}
