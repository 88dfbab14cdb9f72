//! OAuth 2.1 for MCP clients (the MCP authorization specification): the
//! authorization server in front of `/mcp`.
//!
//! A client registers itself (`register`, RFC 7591), sends its person to
//! `authorize` with a PKCE challenge (S256 only) and the resource it wants
//! (`<public URL>/mcp` only), and the person approves it for a workspace on
//! the consent page (`show`, `decide`). The code that goes back to the
//! client's exactly registered redirect address lives sixty seconds and is
//! used once (`tokens::exchange`); the approval becomes an API key holding
//! only `mcp`, listed and revocable with the owner's keys, from which the
//! client gets fifteen-minute access tokens bound to `/mcp` and refresh
//! tokens that rotate on every use (a reused one revokes the approval).

mod clients;
pub mod grants;

pub use clients::register;
pub use grants::{exchange, resolve_access, revoke};

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Entry};
use super::{Actor, RequestMeta};
use crate::schema::{oauth_clients, oauth_requests};
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::Role;
use types::oauth::{ConsentDecided, ConsentRequest, DecideConsent};

/// The only scope: the workspace's deployments as MCP tools.
pub const SCOPE: &str = "mcp";
/// How long a person has to decide.
const REQUEST_MINUTES: i64 = 10;
/// How long a code is good for.
const CODE_SECONDS: i64 = 60;

pub mod action {
    pub const APPROVED: &str = "oauth.approve";
    pub const DENIED: &str = "oauth.deny";
}

/// An OAuth error as RFC 6749 words it: the code, what went wrong, and the
/// HTTP status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" { 401 } else { 400 };
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    /// A service failure: a database or pool error is a 500 (logged by the
    /// caller), a limit a 429.
    pub fn from_service(error: &ServiceError) -> Self {
        let (status, code) = match error.status() {
            500.. => (500, "server_error"),
            429 => (429, "temporarily_unavailable"),
            _ => (400, "invalid_request"),
        };
        Self {
            status,
            code,
            description: if status >= 500 {
                "the server could not answer; try again".to_owned()
            } else {
                error.to_string()
            },
        }
    }
}

/// The issuer (the public URL) and the one resource tokens are for.
pub fn issuer(services: &Services) -> String {
    services.public_url.trim_end_matches('/').to_owned()
}

pub fn resource(services: &Services) -> String {
    format!("{}/mcp", issuer(services))
}

/// A resource indicator as clients send it: without a trailing slash.
fn same_resource(sent: &str, ours: &str) -> bool {
    sent.trim_end_matches('/') == ours
}

/// The query of an authorization request (RFC 6749 § 4.1.1, RFC 7636,
/// RFC 8707).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
}

/// Where an authorization request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorize {
    /// To the consent page, for this request.
    Consent(Uuid),
    /// Nowhere: the error is shown here, never sent on. Anyone may
    /// register a client with any https address, so an error sent back
    /// before a person has seen the consent page would make this an open
    /// redirect (RFC 9700 § 4.11.2); only a person's decision is.
    Refused(String),
}

/// `url` with `params` added to its query.
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(separator);
        out.push_str(name);
        out.push('=');
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        separator = '&';
    }
    out
}

/// Requests of one client waiting for their person at once, at most.
const PENDING_PER_CLIENT: i64 = 20;

/// Checks an authorization request and keeps it for its person.
pub async fn authorize(
    services: &Services,
    request: AuthorizeRequest,
) -> Result<Authorize, ServiceError> {
    let Some(client_id) = request.client_id.as_deref() else {
        return Ok(Authorize::Refused("the request names no client_id".into()));
    };
    let mut conn = services.conn().await?;
    let client: Option<(Uuid, Vec<String>)> = oauth_clients::table
        .filter(oauth_clients::client_id.eq(client_id))
        .select((oauth_clients::id, oauth_clients::redirect_uris))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((client, redirects)) = client else {
        return Ok(Authorize::Refused(
            "no client is registered with this client_id".into(),
        ));
    };
    let redirect = match request.redirect_uri.as_deref() {
        Some(sent) if redirects.iter().any(|uri| uri == sent) => sent.to_owned(),
        None if redirects.len() == 1 => redirects[0].clone(),
        Some(_) => {
            return Ok(Authorize::Refused(
                "redirect_uri is not one this client registered (they must match exactly)".into(),
            ));
        }
        None => {
            return Ok(Authorize::Refused(
                "redirect_uri is required: this client registered several".into(),
            ));
        }
    };
    let state = request.state.as_deref();
    let refuse = |code: &str, why: &str| Ok(Authorize::Refused(format!("{code}: {why}")));
    if request.response_type.as_deref() != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    let Some(challenge) = request.code_challenge.as_deref() else {
        return refuse("invalid_request", "code_challenge is required (PKCE)");
    };
    if request.code_challenge_method.as_deref() != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return refuse(
            "invalid_request",
            "code_challenge must be BASE64URL(SHA256(verifier)), 43 characters",
        );
    }
    let scope = request.scope.as_deref().unwrap_or(SCOPE);
    if scope.split(' ').any(|s| !s.is_empty() && s != SCOPE) {
        return refuse("invalid_scope", "the only scope is mcp");
    }
    let ours = resource(services);
    if let Some(sent) = request.resource.as_deref()
        && !same_resource(sent, &ours)
    {
        return refuse("invalid_target", &format!("the only resource is {ours}"));
    }
    if state.is_some_and(|state| state.len() > 1000) {
        return refuse("invalid_request", "state is longer than 1000 characters");
    }
    let waiting: i64 = oauth_requests::table
        .filter(oauth_requests::client_id.eq(client))
        .filter(oauth_requests::status.eq("pending"))
        .filter(oauth_requests::expires_at.gt(Utc::now()))
        .count()
        .get_result(&mut conn)
        .await?;
    if waiting >= PENDING_PER_CLIENT {
        return refuse(
            "temporarily_unavailable",
            "this app has too many authorizations waiting; try again in ten minutes",
        );
    }
    let id: Uuid = diesel::insert_into(oauth_requests::table)
        .values((
            oauth_requests::client_id.eq(client),
            oauth_requests::redirect_uri.eq(&redirect),
            oauth_requests::state.eq(state),
            oauth_requests::code_challenge.eq(challenge),
            oauth_requests::resource.eq(&ours),
            oauth_requests::scope.eq(SCOPE),
            oauth_requests::expires_at.eq(Utc::now() + TimeDelta::minutes(REQUEST_MINUTES)),
        ))
        .returning(oauth_requests::id)
        .get_result(&mut conn)
        .await?;
    Ok(Authorize::Consent(id))
}

/// A request row with its client.
type Pending = (
    String,
    String,
    Option<String>,
    chrono::DateTime<Utc>,
    String,
    String,
);

async fn pending(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<Pending, ServiceError> {
    oauth_requests::table
        .inner_join(oauth_clients::table)
        .filter(oauth_requests::id.eq(id))
        .select((
            oauth_clients::client_name,
            oauth_requests::redirect_uri,
            oauth_requests::state,
            oauth_requests::expires_at,
            oauth_requests::status,
            oauth_clients::client_id,
        ))
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound {
            what: "authorization request",
        })
}

/// Scheme and host of an address, for the person to check.
fn where_to(redirect: &str) -> String {
    match redirect.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => redirect
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// What the consent page shows (a signed-in browser only).
pub async fn show(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<ConsentRequest, ServiceError> {
    actor.require_session()?;
    let mut conn = services.conn().await?;
    let (client_name, redirect, _, expires_at, status, _) = pending(&mut conn, id).await?;
    let status = if status == "pending" && expires_at <= Utc::now() {
        "expired".to_owned()
    } else {
        status
    };
    Ok(ConsentRequest {
        id,
        client_name,
        redirect_to: where_to(&redirect),
        grants: vec![
            "See the running deployments of the workspace you choose, as tools".to_owned(),
            "Run them, paid from that workspace's credits like any run".to_owned(),
        ],
        expires_at,
        status,
    })
}

/// Approves (for a workspace the person may run deployments in) or denies
/// an authorization; where the browser goes next.
pub async fn decide(
    services: &Services,
    actor: &Actor,
    decision: DecideConsent,
    meta: &RequestMeta,
) -> Result<ConsentDecided, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let (client_name, redirect, state, expires_at, status, client_id) =
        pending(&mut conn, decision.id).await?;
    if status != "pending" || expires_at <= Utc::now() {
        return Err(ServiceError::Conflict {
            field: "id",
            message: "this authorization was already decided, or it expired; start again from \
                      the app"
                .into(),
        });
    }
    let issuer = issuer(services);
    let workspace = if decision.approve {
        crate::auth::recovery::require_verified(&mut conn, user).await?;
        let workspace = match decision.workspace {
            Some(workspace) => workspace,
            None => access::personal_workspace(&mut conn, user).await?,
        };
        access::require_role(&mut conn, actor, workspace, Role::Member).await?;
        crate::auth::api_keys::room_for_one_more(&mut conn, user).await?;
        Some(workspace)
    } else {
        None
    };
    let code = format!("mcp_code_{}", super::tokens::random(32)?);
    let id = decision.id;
    let actor = actor.clone();
    let meta = meta.clone();
    let decided = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let status = if workspace.is_some() {
                "approved"
            } else {
                "denied"
            };
            let changed = diesel::update(
                oauth_requests::table
                    .filter(oauth_requests::id.eq(id))
                    .filter(oauth_requests::status.eq("pending")),
            )
            .set((
                oauth_requests::status.eq(status),
                oauth_requests::user_id.eq(user.0),
                oauth_requests::workspace_id.eq(workspace.map(|w: WorkspaceId| w.0)),
                oauth_requests::code_hash.eq(workspace.map(|_| super::tokens::digest(&code))),
                oauth_requests::code_expires_at
                    .eq(workspace.map(|_| Utc::now() + TimeDelta::seconds(CODE_SECONDS))),
            ))
            .execute(conn)
            .await?;
            if changed == 0 {
                return Err(ServiceError::Conflict {
                    field: "id",
                    message: "this authorization was already decided".into(),
                });
            }
            audit::record(
                conn,
                Entry {
                    action: if workspace.is_some() {
                        action::APPROVED
                    } else {
                        action::DENIED
                    },
                    user: Some(user),
                    actor: &actor,
                    workspace,
                    target_type: "oauth_client",
                    target_id: client_id.clone(),
                    meta: &meta,
                    details: json!({ "client_name": client_name, "redirect_uri": redirect }),
                },
            )
            .await?;
            Ok(())
        })
        .await;
    decided?;
    let mut params: Vec<(&str, &str)> = if workspace.is_some() {
        vec![("code", code.as_str())]
    } else {
        vec![
            ("error", "access_denied"),
            ("error_description", "the person denied the request"),
        ]
    };
    if let Some(state) = state.as_deref() {
        params.push(("state", state));
    }
    params.push(("iss", issuer.as_str()));
    Ok(ConsentDecided {
        redirect: with_query(&redirect, &params),
    })
}

/// Forgets requests long decided or expired, and clients registered a day
/// ago that nobody approved. Called every hour.
pub async fn purge(services: &Services) -> Result<(usize, usize), ServiceError> {
    let mut conn = services.conn().await?;
    // Waiting ones as soon as they expire; decided ones after a day (a
    // code used twice within it revokes what it gave).
    let now = Utc::now();
    let requests = diesel::delete(
        oauth_requests::table.filter(
            oauth_requests::expires_at
                .lt(now - TimeDelta::days(1))
                .or(oauth_requests::status
                    .eq("pending")
                    .and(oauth_requests::expires_at.lt(now))),
        ),
    )
    .execute(&mut conn)
    .await?;
    let tokens = grants::purge(&mut conn).await?;
    let clients = diesel::sql_query(
        "DELETE FROM oauth_clients c WHERE c.created_at < now() - interval '1 day' \
         AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.oauth_client_id = c.id) \
         AND NOT EXISTS (SELECT 1 FROM oauth_requests r WHERE r.client_id = c.id)",
    )
    .execute(&mut conn)
    .await?;
    Ok((requests + tokens, clients))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_added_and_escaped() {
        assert_eq!(
            with_query(
                "http://127.0.0.1:5/cb",
                &[("code", "a b"), ("state", "x&y")]
            ),
            "http://127.0.0.1:5/cb?code=a+b&state=x%26y"
        );
        assert_eq!(
            with_query("https://a/cb?x=1", &[("code", "c")]),
            "https://a/cb?x=1&code=c"
        );
        assert_eq!(where_to("https://claude.ai/api/cb?x"), "https://claude.ai");
        assert_eq!(where_to("com.example.app:/cb"), "com.example.app:");
        assert!(same_resource(
            "https://a.example/mcp/",
            "https://a.example/mcp"
        ));
        assert!(!same_resource(
            "https://evil.example/mcp",
            "https://a.example/mcp"
        ));
    }
}
