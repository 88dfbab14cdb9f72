//! Inbound webhook URLs: `POST /hooks/<token>` starts a run of a
//! deployment (`receive.rs`). Members and up of the deployment's workspace
//! make, change, rotate and delete them (keys with `deployments:write`);
//! anyone who may see the deployment lists them. The token is the URL's
//! secret: kept as its SHA-256 only, shown once.

mod receive;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use sha2::Digest as _;
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::action;
use crate::deployments;
use crate::schema::hooks;
use crate::{ServiceError, Services};
use types::account::Scope;
use types::triggers::{Hook, HookChange, HookVerify, HookWithToken, NewHook, RotateHook};

pub use receive::{Answer, Flood, Inbound, find, receive};

/// URLs one deployment may have.
pub const MAX_PER_DEPLOYMENT: i64 = 10;
const MAX_NAME_CHARS: usize = 80;
const MAX_ALLOWED_HEADERS: usize = 20;
/// Headers never handed to an agent, whatever the allow-list says.
const NEVER_HANDED: [&str; 9] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "webhook-signature",
    "x-signature",
    "x-hub-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "set-cookie",
];

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = hooks)]
pub struct HookRecord {
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub workspace_id: Uuid,
    pub created_by: Uuid,
    pub name: String,
    pub token_prefix: String,
    pub verify: String,
    pub secret: Option<Vec<u8>>,
    pub allowed_headers: Vec<String>,
    pub per_minute: i32,
    pub max_body_bytes: i32,
    pub enabled: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl HookRecord {
    fn view(&self, public_url: &str) -> Hook {
        Hook {
            id: self.id,
            deployment_id: self.deployment_id,
            name: self.name.clone(),
            url_prefix: format!("{public_url}/hooks/{}…", self.token_prefix),
            verify: HookVerify::parse(&self.verify),
            allowed_headers: self.allowed_headers.clone(),
            per_minute: self.per_minute,
            max_body_bytes: self.max_body_bytes,
            enabled: self.enabled,
            last_used_at: self.last_used_at,
            created_at: self.created_at,
        }
    }
}

pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

fn aad(hook: Uuid) -> Vec<u8> {
    format!("hook:{hook}").into_bytes()
}

/// A new token: `hk_` and 43 base64url characters (32 random bytes).
fn new_token() -> Result<String, ServiceError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
    Ok(format!(
        "hk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The secret a signed URL checks with: the caller's, or a new one.
fn secret_for(verify: HookVerify, given: Option<&str>) -> Result<Option<String>, ServiceError> {
    match (verify, given.map(str::trim)) {
        (HookVerify::Token, None) => Ok(None),
        (HookVerify::Token, Some(_)) => Err(ServiceError::invalid(
            "secret",
            "only a signed URL (verify standard or sha256) takes a secret",
        )),
        (HookVerify::Standard, Some(secret)) => {
            use base64::Engine as _;
            let key = secret.strip_prefix("whsec_").unwrap_or(secret);
            match base64::engine::general_purpose::STANDARD.decode(key) {
                Ok(bytes) if (16..=64).contains(&bytes.len()) => Ok(Some(secret.to_owned())),
                _ => Err(ServiceError::invalid(
                    "secret",
                    "must be whsec_ and the base64 of 16 to 64 bytes",
                )),
            }
        }
        (HookVerify::Sha256, Some(secret)) => {
            if (16..=256).contains(&secret.len()) && !secret.chars().any(char::is_control) {
                Ok(Some(secret.to_owned()))
            } else {
                Err(ServiceError::invalid(
                    "secret",
                    "must be 16 to 256 characters without control characters",
                ))
            }
        }
        (HookVerify::Standard | HookVerify::Sha256, None) => {
            crate::webhooks::sign::new_secret().map(Some)
        }
    }
}

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_headers(headers: &[String]) -> Result<Vec<String>, ServiceError> {
    if headers.len() > MAX_ALLOWED_HEADERS {
        return Err(ServiceError::invalid(
            "allowed_headers",
            format!("at most {MAX_ALLOWED_HEADERS}"),
        ));
    }
    let mut kept = Vec::new();
    for header in headers {
        let name = header.trim().to_ascii_lowercase();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ServiceError::invalid(
                "allowed_headers",
                format!("`{header}` is not a header name"),
            ));
        }
        if NEVER_HANDED.contains(&name.as_str()) {
            return Err(ServiceError::invalid(
                "allowed_headers",
                format!("`{name}` carries credentials and is never handed to an agent"),
            ));
        }
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    Ok(kept)
}

fn check_limits(per_minute: i32, max_body: i32) -> Result<(), ServiceError> {
    if !(1..=600).contains(&per_minute) {
        return Err(ServiceError::invalid("per_minute", "must be from 1 to 600"));
    }
    if !(1024..=1_048_576).contains(&max_body) {
        return Err(ServiceError::invalid(
            "max_body_bytes",
            "must be from 1,024 to 1,048,576",
        ));
    }
    Ok(())
}

fn with_token(
    services: &Services,
    record: &HookRecord,
    token: &str,
    secret: Option<String>,
) -> HookWithToken {
    let url = format!("{}/hooks/{token}", services.public_url);
    let curl = match HookVerify::parse(&record.verify) {
        HookVerify::Token => {
            format!("curl -X POST '{url}?wait=10' -H 'content-type: application/json' -d '{{}}'")
        }
        HookVerify::Standard => format!(
            "# sign with the Standard Webhooks library of your language, then:\n\
             curl -X POST '{url}' -H 'content-type: application/json' \
             -H 'webhook-id: msg_…' -H 'webhook-timestamp: …' -H 'webhook-signature: v1,…' \
             -d '{{}}'"
        ),
        HookVerify::Sha256 => format!(
            "body='{{}}'; sig=$(printf %s \"$body\" | openssl dgst -sha256 -hmac \"$SECRET\" | \
             cut -d' ' -f2)\ncurl -X POST '{url}' -H 'content-type: application/json' \
             -H \"x-signature: sha256=$sig\" -d \"$body\""
        ),
    };
    HookWithToken {
        hook: record.view(&services.public_url),
        url,
        secret,
        curl,
    }
}

/// A deployment's inbound webhook URLs (their tokens are never shown
/// again).
pub async fn list(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
) -> Result<Vec<Hook>, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = deployments::visible(&mut conn, actor, deployment).await?;
    let rows: Vec<HookRecord> = hooks::table
        .filter(hooks::deployment_id.eq(record.id))
        .order((hooks::created_at, hooks::id))
        .select(HookRecord::as_select())
        .load(&mut conn)
        .await?;
    Ok(rows
        .iter()
        .map(|row| row.view(&services.public_url))
        .collect())
}

/// Adds an inbound webhook URL to a deployment (members and up); its runs
/// are started as the member who made it.
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    new: NewHook,
) -> Result<HookWithToken, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let name = check_name(&new.name)?;
    let verify = new.verify.unwrap_or_default();
    let secret = secret_for(verify, new.secret.as_deref())?;
    let allowed = check_headers(new.allowed_headers.as_deref().unwrap_or_default())?;
    let per_minute = new.per_minute.unwrap_or(60);
    let max_body = new.max_body_bytes.unwrap_or(256 * 1024);
    check_limits(per_minute, max_body)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let count: i64 = hooks::table
        .filter(hooks::deployment_id.eq(record.id))
        .count()
        .get_result(&mut conn)
        .await?;
    if count >= MAX_PER_DEPLOYMENT {
        return Err(ServiceError::Conflict {
            field: "hooks",
            message: format!("a deployment has at most {MAX_PER_DEPLOYMENT} webhook URLs"),
        });
    }
    let id = Uuid::new_v4();
    let token = new_token()?;
    let sealed = seal(services, id, secret.as_deref())?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let row: HookRecord = diesel::insert_into(hooks::table)
                .values((
                    hooks::id.eq(id),
                    hooks::deployment_id.eq(record.id),
                    hooks::workspace_id.eq(record.workspace_id),
                    hooks::created_by.eq(user.0),
                    hooks::name.eq(&name),
                    hooks::token_hash.eq(token_hash(&token)),
                    hooks::token_prefix.eq(&token[..8]),
                    hooks::verify.eq(verify.as_str()),
                    hooks::secret.eq(&sealed),
                    hooks::allowed_headers.eq(&allowed),
                    hooks::per_minute.eq(per_minute),
                    hooks::max_body_bytes.eq(max_body),
                ))
                .returning(HookRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::HOOK_CREATED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(with_token(services, &row, &token, secret))
}

fn seal(
    services: &Services,
    id: Uuid,
    secret: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    let Some(secret) = secret else {
        return Ok(None);
    };
    let sealer = services.secrets.as_deref().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })?;
    sealer.seal_bytes(&aad(id), secret.as_bytes()).map(Some)
}

/// Changes an inbound webhook URL (members and up).
pub async fn change(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: Uuid,
    change: HookChange,
) -> Result<Hook, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let name = change.name.as_deref().map(check_name).transpose()?;
    let allowed = change
        .allowed_headers
        .as_deref()
        .map(check_headers)
        .transpose()?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let mut row = owned(&mut conn, record.id, id).await?;
    row.name = name.unwrap_or(row.name);
    row.allowed_headers = allowed.unwrap_or(row.allowed_headers);
    row.per_minute = change.per_minute.unwrap_or(row.per_minute);
    row.max_body_bytes = change.max_body_bytes.unwrap_or(row.max_body_bytes);
    row.enabled = change.enabled.unwrap_or(row.enabled);
    check_limits(row.per_minute, row.max_body_bytes)?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let row: HookRecord = diesel::update(hooks::table.find(id))
                .set((
                    // Runs start as whoever changed it last: a member who
                    // changes or rotates a URL cannot leave runs going as
                    // someone else.
                    hooks::created_by.eq(user.0),
                    hooks::name.eq(&row.name),
                    hooks::allowed_headers.eq(&row.allowed_headers),
                    hooks::per_minute.eq(row.per_minute),
                    hooks::max_body_bytes.eq(row.max_body_bytes),
                    hooks::enabled.eq(row.enabled),
                    hooks::updated_at.eq(Utc::now()),
                ))
                .returning(HookRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::HOOK_CHANGED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(row.view(&services.public_url))
}

/// A new token (the old URL stops at once) and, for a signed URL, a new
/// secret (members and up).
pub async fn rotate(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: Uuid,
    request: RotateHook,
) -> Result<HookWithToken, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    let secret = secret_for(HookVerify::parse(&row.verify), request.secret.as_deref())?;
    let sealed = seal(services, id, secret.as_deref())?;
    let token = new_token()?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let row: HookRecord = diesel::update(hooks::table.find(id))
                .set((
                    hooks::created_by.eq(user.0),
                    hooks::token_hash.eq(token_hash(&token)),
                    hooks::token_prefix.eq(&token[..8]),
                    hooks::secret.eq(&sealed),
                    hooks::updated_at.eq(Utc::now()),
                ))
                .returning(HookRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::HOOK_ROTATED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(with_token(services, &row, &token, secret))
}

/// Deletes an inbound webhook URL (members and up): it answers 404 at once.
pub async fn delete(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: Uuid,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::delete(hooks::table.find(id)).execute(conn).await?;
        audit(conn, actor, meta, action::HOOK_DELETED, &row).await
    })
    .await
}

async fn owned(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    id: Uuid,
) -> Result<HookRecord, ServiceError> {
    hooks::table
        .find(id)
        .filter(hooks::deployment_id.eq(deployment))
        .select(HookRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound {
            what: "webhook URL",
        })
}

async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    what: &'static str,
    row: &HookRecord,
) -> Result<(), ServiceError> {
    deployments::audit_deployment(
        conn,
        actor,
        meta,
        what,
        types::WorkspaceId(row.workspace_id),
        row.deployment_id,
        serde_json::json!({
            "hook": row.id,
            "name": row.name,
            "verify": row.verify,
            "enabled": row.enabled,
            "allowed_headers": row.allowed_headers,
        }),
    )
    .await
}
