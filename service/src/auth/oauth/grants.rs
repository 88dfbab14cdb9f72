//! The token endpoint (codes and refresh tokens for tokens), revocation
//! (RFC 7009), and what `/mcp` asks: whose access token this is.
//!
//! An approved code becomes an API key holding only `mcp` (the approval,
//! replacing the client's earlier one for the same person and workspace)
//! with an access token (fifteen minutes) and a refresh token (thirty days,
//! used once). Tokens are kept as digests with the resource they are for;
//! a token is honoured only while its approval is in force and only for
//! this server's `/mcp`. A code or refresh token used twice revokes the
//! approval: one of the two uses was not the client's.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::{OAuthError, SCOPE, resource, same_resource};
use crate::auth::api_keys::{self, NewKey};
use crate::auth::audit::{self, Entry, action};
use crate::auth::{Actor, RequestMeta, tokens};
use crate::schema::{api_keys as keys, oauth_clients, oauth_requests, oauth_tokens};
use crate::{ServiceError, Services};
use types::account::Scope;
use types::oauth::{RevokeRequest, TokenAnswer, TokenRequest};
use types::{ApiKeyId, UserId, WorkspaceId};

pub const ACCESS_SECONDS: i64 = 15 * 60;
const REFRESH_DAYS: i64 = 30;
pub const ACCESS_PREFIX: &str = "mcp_at_";
const REFRESH_PREFIX: &str = "mcp_rt_";

fn failed(error: ServiceError) -> OAuthError {
    if error.status() >= 500 {
        tracing::error!(%error, "an OAuth request failed");
    }
    OAuthError::from_service(&error)
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::new("invalid_grant", why)
}

/// A client as it authenticates at the token and revocation endpoints.
struct Client {
    id: Uuid,
    name: String,
}

/// The client of a request: `client_id` (and its secret, for a confidential
/// client) from HTTP Basic or the form (RFC 6749 § 2.3.1).
async fn client(
    conn: &mut AsyncPgConnection,
    basic: Option<(String, String)>,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let (id, secret, method) = match &basic {
        Some((id, secret)) => (id.as_str(), Some(secret.as_str()), "client_secret_basic"),
        None => match form_id {
            Some(id) => (id, form_secret, "client_secret_post"),
            None => return Err(OAuthError::new("invalid_client", "client_id is required")),
        },
    };
    let row: Option<(Uuid, String, Option<Vec<u8>>, String)> = oauth_clients::table
        .filter(oauth_clients::client_id.eq(id))
        .select((
            oauth_clients::id,
            oauth_clients::client_name,
            oauth_clients::secret_hash,
            oauth_clients::auth_method,
        ))
        .first(conn)
        .await
        .optional()
        .map_err(|error| failed(error.into()))?;
    let unknown = || OAuthError::new("invalid_client", "no such client, or a wrong secret");
    let (row_id, name, secret_hash, registered) = row.ok_or_else(unknown)?;
    match (secret_hash, secret) {
        (None, _) => {}
        (Some(hash), Some(secret)) if registered == method => {
            if !bool::from(tokens::digest(secret).as_slice().ct_eq(hash.as_slice())) {
                return Err(unknown());
            }
        }
        (Some(_), _) => return Err(unknown()),
    }
    Ok(Client { id: row_id, name })
}

/// A new access and refresh token for approval `key`.
async fn issue(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    resource: &str,
) -> Result<TokenAnswer, ServiceError> {
    let access = format!("{ACCESS_PREFIX}{}", tokens::random(32)?);
    let refresh = format!("{REFRESH_PREFIX}{}", tokens::random(32)?);
    let now = Utc::now();
    diesel::insert_into(oauth_tokens::table)
        .values(vec![
            (
                oauth_tokens::token_hash.eq(tokens::digest(&access)),
                oauth_tokens::kind.eq("access"),
                oauth_tokens::key_id.eq(key),
                oauth_tokens::resource.eq(resource),
                oauth_tokens::expires_at.eq(now + TimeDelta::seconds(ACCESS_SECONDS)),
            ),
            (
                oauth_tokens::token_hash.eq(tokens::digest(&refresh)),
                oauth_tokens::kind.eq("refresh"),
                oauth_tokens::key_id.eq(key),
                oauth_tokens::resource.eq(resource),
                oauth_tokens::expires_at.eq(now + TimeDelta::days(REFRESH_DAYS)),
            ),
        ])
        .execute(conn)
        .await?;
    Ok(TokenAnswer {
        access_token: access,
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_SECONDS,
        refresh_token: refresh,
        scope: SCOPE.to_owned(),
    })
}

/// Revokes approval `key` (a replayed code or refresh token, or the client
/// asked), audited as the key's revocation.
async fn end_approval(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    why: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let ended: Option<(Uuid, Uuid)> = diesel::update(
        keys::table
            .filter(keys::id.eq(key))
            .filter(keys::revoked_at.is_null()),
    )
    .set(keys::revoked_at.eq(Utc::now()))
    .returning((keys::user_id, keys::workspace_id))
    .get_result(conn)
    .await
    .optional()?;
    if let Some((user, workspace)) = ended {
        audit::record(
            conn,
            Entry {
                action: action::KEY_REVOKED,
                user: Some(UserId(user)),
                actor: &Actor::Anonymous,
                workspace: Some(WorkspaceId(workspace)),
                target_type: "api_key",
                target_id: key.to_string(),
                meta,
                details: json!({ "reason": why }),
            },
        )
        .await?;
    }
    Ok(())
}

/// The token endpoint: `authorization_code` or `refresh_token`.
pub async fn exchange(
    services: &Services,
    request: TokenRequest,
    basic: Option<(String, String)>,
    meta: &RequestMeta,
) -> Result<TokenAnswer, OAuthError> {
    let mut conn = services.conn().await.map_err(failed)?;
    let client = client(
        &mut conn,
        basic,
        request.client_id.as_deref(),
        request.client_secret.as_deref(),
    )
    .await?;
    let ours = resource(services);
    if let Some(sent) = request.resource.as_deref()
        && !same_resource(sent, &ours)
    {
        return Err(OAuthError::new(
            "invalid_target",
            format!("the only resource is {ours}"),
        ));
    }
    if request
        .scope
        .as_deref()
        .is_some_and(|scope| scope.split(' ').any(|s| !s.is_empty() && s != SCOPE))
    {
        return Err(OAuthError::new("invalid_scope", "the only scope is mcp"));
    }
    match request.grant_type.as_str() {
        "authorization_code" => code(&mut conn, &client, &request, &ours, meta).await,
        "refresh_token" => refresh(&mut conn, &client, &request, &ours, meta).await,
        _ => Err(OAuthError::new(
            "unsupported_grant_type",
            "grant_type: authorization_code or refresh_token",
        )),
    }
}

/// What the code was given for.
type Approved = (
    Uuid,
    String,
    String,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    Option<Uuid>,
);

/// Whether `verifier` is the one `challenge` was made from (RFC 7636,
/// S256).
fn verifies(verifier: &str, challenge: &str) -> bool {
    use base64::Engine as _;
    let unreserved = verifier
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~'));
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (43..=128).contains(&verifier.len())
        && unreserved
        && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

async fn code(
    conn: &mut AsyncPgConnection,
    client: &Client,
    request: &TokenRequest,
    ours: &str,
    meta: &RequestMeta,
) -> Result<TokenAnswer, OAuthError> {
    let code = request
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
    let row: Option<Approved> = oauth_requests::table
        .filter(oauth_requests::code_hash.eq(tokens::digest(code)))
        .filter(oauth_requests::client_id.eq(client.id))
        .select((
            oauth_requests::id,
            oauth_requests::status,
            oauth_requests::redirect_uri,
            oauth_requests::code_challenge,
            oauth_requests::resource,
            oauth_requests::user_id,
            oauth_requests::workspace_id,
            oauth_requests::code_expires_at,
            oauth_requests::key_id,
        ))
        .first(conn)
        .await
        .optional()
        .map_err(|error| failed(error.into()))?;
    let (id, status, redirect, challenge, bound, user, workspace, expires, key) =
        row.ok_or_else(|| invalid_grant("the code is unknown, or another client's"))?;
    // The verifier first: only the client that asked for the code (or one
    // holding its secret verifier) gets further, even to a refusal that
    // revokes.
    let verifier = request
        .code_verifier
        .as_deref()
        .ok_or_else(|| invalid_grant("code_verifier is required (PKCE)"))?;
    if !verifies(verifier, &challenge) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    if status == "used" {
        // Used before: whoever used it first may not have been the client.
        if let Some(key) = key {
            end_approval(conn, key, "authorization code used twice", meta)
                .await
                .map_err(failed)?;
        }
        return Err(invalid_grant(
            "the code was used already; its tokens are revoked",
        ));
    }
    if status != "approved" || expires.is_none_or(|at| at <= Utc::now()) {
        return Err(invalid_grant("the code expired"));
    }
    // Required when sent at authorization; every request here was given
    // one (the only registered one when it sent none), so it is checked
    // when sent.
    if request
        .redirect_uri
        .as_deref()
        .is_some_and(|sent| sent != redirect)
    {
        return Err(invalid_grant(
            "redirect_uri must be the one the code was asked with",
        ));
    }
    if bound != ours {
        return Err(OAuthError::new(
            "invalid_target",
            "the code was for another resource",
        ));
    }
    let (Some(user), Some(workspace)) = (user, workspace) else {
        return Err(invalid_grant("the code was not approved"));
    };
    let name: String = format!("MCP: {}", client.name).chars().take(80).collect();
    let client_id = client.id;
    let ours = ours.to_owned();
    let made = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let taken = diesel::update(
                oauth_requests::table
                    .filter(oauth_requests::id.eq(id))
                    .filter(oauth_requests::status.eq("approved")),
            )
            .set(oauth_requests::status.eq("used"))
            .execute(conn)
            .await?;
            if taken == 0 {
                return Ok(None);
            }
            // One approval per client, person and workspace: a new one ends
            // the last.
            let earlier: Vec<Uuid> = keys::table
                .filter(keys::oauth_client_id.eq(client_id))
                .filter(keys::user_id.eq(user))
                .filter(keys::workspace_id.eq(workspace))
                .filter(keys::revoked_at.is_null())
                .select(keys::id)
                .load(conn)
                .await?;
            for key in earlier {
                end_approval(conn, key, "approved again", meta).await?;
            }
            let made = api_keys::insert(
                conn,
                NewKey {
                    user: UserId(user),
                    workspace: WorkspaceId(workspace),
                    name,
                    scopes: vec![Scope::Mcp],
                    // As long as its refresh token: each refresh extends it.
                    expires_at: Some(Utc::now() + TimeDelta::days(REFRESH_DAYS)),
                    spend_cap_credits: None,
                    made_by: None,
                },
                &Actor::Anonymous,
                meta,
                json!({ "oauth_client": client_id }),
            )
            .await?;
            let key = made.key.id.0;
            diesel::update(keys::table.find(key))
                .set(keys::oauth_client_id.eq(client_id))
                .execute(conn)
                .await?;
            diesel::update(oauth_requests::table.find(id))
                .set(oauth_requests::key_id.eq(key))
                .execute(conn)
                .await?;
            issue(conn, key, &ours).await.map(Some)
        })
        .await
        .map_err(failed)?;
    if let Some(tokens) = made {
        return Ok(tokens);
    }
    // Two uses at once: this one lost, and the other may not have been
    // the client's.
    let key: Option<Uuid> = oauth_requests::table
        .find(id)
        .select(oauth_requests::key_id)
        .first(conn)
        .await
        .optional()
        .map_err(|error| failed(error.into()))?
        .flatten();
    if let Some(key) = key {
        end_approval(conn, key, "authorization code used twice", meta)
            .await
            .map_err(failed)?;
    }
    Err(invalid_grant(
        "the code was used already; its tokens are revoked",
    ))
}

/// A refresh token's approval, resource, end, use and the approval's end.
type Refreshable = (
    Uuid,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

async fn refresh(
    conn: &mut AsyncPgConnection,
    client: &Client,
    request: &TokenRequest,
    ours: &str,
    meta: &RequestMeta,
) -> Result<TokenAnswer, OAuthError> {
    let token = request
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
    let hash = tokens::digest(token);
    let row: Option<Refreshable> = oauth_tokens::table
        .inner_join(keys::table)
        .filter(oauth_tokens::token_hash.eq(&hash))
        .filter(oauth_tokens::kind.eq("refresh"))
        .filter(keys::oauth_client_id.eq(client.id))
        .select((
            keys::id,
            oauth_tokens::resource,
            oauth_tokens::expires_at,
            oauth_tokens::used_at,
            keys::revoked_at,
        ))
        .first(conn)
        .await
        .optional()
        .map_err(|error| failed(error.into()))?;
    let (key, bound, expires, used, revoked) =
        row.ok_or_else(|| invalid_grant("the refresh token is unknown, or another client's"))?;
    if revoked.is_some() {
        return Err(invalid_grant("the approval was revoked"));
    }
    if used.is_some() {
        end_approval(conn, key, "refresh token used twice", meta)
            .await
            .map_err(failed)?;
        return Err(invalid_grant(
            "the refresh token was used already; the approval is revoked",
        ));
    }
    if expires <= Utc::now() {
        return Err(invalid_grant("the refresh token expired"));
    }
    if bound != ours {
        return Err(OAuthError::new(
            "invalid_target",
            "the token was for another resource",
        ));
    }
    let ours = ours.to_owned();
    let renewed = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let taken = diesel::update(
                oauth_tokens::table
                    .filter(oauth_tokens::token_hash.eq(&hash))
                    .filter(oauth_tokens::used_at.is_null()),
            )
            .set(oauth_tokens::used_at.eq(Utc::now()))
            .execute(conn)
            .await?;
            if taken == 0 {
                return Ok(None);
            }
            // The approval lives as long as its newest refresh token.
            diesel::update(keys::table.find(key))
                .set(keys::expires_at.eq(Utc::now() + TimeDelta::days(REFRESH_DAYS)))
                .execute(conn)
                .await?;
            issue(conn, key, &ours).await.map(Some)
        })
        .await
        .map_err(failed)?;
    match renewed {
        Some(tokens) => Ok(tokens),
        // Two uses at once: one of them was not the client's.
        None => {
            end_approval(conn, key, "refresh token used twice", meta)
                .await
                .map_err(failed)?;
            Err(invalid_grant(
                "the refresh token was used already; the approval is revoked",
            ))
        }
    }
}

/// Revocation (RFC 7009): a refresh token ends its approval and every
/// token of it; an access token ends itself. An unknown token, or one of
/// another client, changes nothing and is answered the same.
pub async fn revoke(
    services: &Services,
    request: RevokeRequest,
    basic: Option<(String, String)>,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let mut conn = services.conn().await.map_err(failed)?;
    let client = client(
        &mut conn,
        basic,
        request.client_id.as_deref(),
        request.client_secret.as_deref(),
    )
    .await?;
    let hash = tokens::digest(&request.token);
    let found: Option<(Uuid, String)> = oauth_tokens::table
        .inner_join(keys::table)
        .filter(oauth_tokens::token_hash.eq(&hash))
        .filter(keys::oauth_client_id.eq(client.id))
        .select((keys::id, oauth_tokens::kind))
        .first(&mut conn)
        .await
        .optional()
        .map_err(|error| failed(error.into()))?;
    match found {
        Some((key, kind)) if kind == "refresh" => {
            end_approval(&mut conn, key, "revoked by the client", meta)
                .await
                .map_err(failed)
        }
        Some(_) => diesel::delete(oauth_tokens::table.find(&hash))
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(|error| failed(error.into())),
        None => Ok(()),
    }
}

/// The caller an access token stands for, if it is one of ours, unexpired,
/// for this server's `/mcp`, and its approval is in force.
pub async fn resolve_access(services: &Services, token: &str) -> Result<Actor, ServiceError> {
    if !token.starts_with(ACCESS_PREFIX) || token.len() > 128 {
        return Err(ServiceError::InvalidApiKey);
    }
    let mut conn = services.conn().await?;
    let now = Utc::now();
    let row: Option<Resolved> = oauth_tokens::table
        .inner_join(keys::table)
        .filter(oauth_tokens::token_hash.eq(tokens::digest(token)))
        .filter(oauth_tokens::kind.eq("access"))
        .filter(oauth_tokens::expires_at.gt(now))
        .filter(keys::revoked_at.is_null())
        .filter(keys::expires_at.is_null().or(keys::expires_at.gt(now)))
        .select((
            keys::id,
            keys::user_id,
            keys::workspace_id,
            keys::scopes,
            oauth_tokens::resource,
            keys::last_used_at,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let (key, user, workspace, scopes, bound, used) = row.ok_or(ServiceError::InvalidApiKey)?;
    // The audience: tokens are honoured only by the resource they are for.
    if bound != resource(services) {
        return Err(ServiceError::InvalidApiKey);
    }
    // Settings shows when an approval was last used, like any key.
    if used.is_none_or(|at| now - at > TimeDelta::minutes(1)) {
        diesel::update(keys::table.find(key))
            .set(keys::last_used_at.eq(now))
            .execute(&mut conn)
            .await?;
    }
    Ok(Actor::ApiKey {
        user_id: UserId(user),
        key_id: ApiKeyId(key),
        workspace_id: WorkspaceId(workspace),
        scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
    })
}

/// What an access token stands for.
type Resolved = (Uuid, Uuid, Uuid, Vec<String>, String, Option<DateTime<Utc>>);

/// Forgets tokens a day past their end.
pub(super) async fn purge(conn: &mut AsyncPgConnection) -> Result<usize, ServiceError> {
    Ok(diesel::delete(
        oauth_tokens::table.filter(oauth_tokens::expires_at.lt(Utc::now() - TimeDelta::days(1))),
    )
    .execute(conn)
    .await?)
}
