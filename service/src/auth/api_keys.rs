//! API keys: `adk_<prefix>_<secret>` tokens shown once at creation; the
//! database keeps the prefix (to recognise a key) and the digest of the whole
//! token. A key acts for its owner in one workspace, within its scopes.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Entry, action};
use super::{Actor, RequestMeta, tokens};
use crate::schema::api_keys;
use crate::{ServiceError, Services, access, spend};
use types::account::{ApiKeyInfo, CreateApiKey, CreatedApiKey, Scope};
use types::{ApiKeyId, UserId, WorkspaceId};

const TOKEN_PREFIX: &str = "adk_";
const SECRET_BYTES: usize = 32;
const MAX_EXPIRY_DAYS: u32 = 3650;
const MAX_KEYS_PER_USER: i64 = 100;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: Uuid,
    user_id: Uuid,
    workspace_id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    spend_cap_credits: Option<i64>,
}

impl KeyRow {
    fn scopes(&self) -> Vec<Scope> {
        self.scopes.iter().filter_map(|s| Scope::parse(s)).collect()
    }

    fn into_info(self) -> ApiKeyInfo {
        ApiKeyInfo {
            id: ApiKeyId(self.id),
            scopes: self.scopes(),
            name: self.name,
            prefix: self.prefix,
            workspace: WorkspaceId(self.workspace_id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            spend_cap_credits: self.spend_cap_credits,
            spent_this_month: None,
        }
    }
}

fn validate(request: &CreateApiKey) -> Result<(String, Vec<Scope>), ServiceError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "must be 1 to 80 characters"));
    }
    let mut scopes = request.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ServiceError::invalid("scopes", "name at least one scope"));
    }
    spend::check_cap("spend_cap_credits", request.spend_cap_credits)?;
    if let Some(days) = request.expires_in_days
        && !(1..=MAX_EXPIRY_DAYS).contains(&days)
    {
        return Err(ServiceError::invalid(
            "expires_in_days",
            format!("must be from 1 to {MAX_EXPIRY_DAYS}"),
        ));
    }
    Ok((name.to_owned(), scopes))
}

/// Creates a key for the signed-in user; the token is in the answer only.
pub async fn create(
    services: &Services,
    actor: &Actor,
    request: CreateApiKey,
    meta: &RequestMeta,
) -> Result<CreatedApiKey, ServiceError> {
    let user = actor.require_session()?;
    let (name, scopes) = validate(&request)?;
    let mut conn = services.conn().await?;
    crate::auth::recovery::require_verified(&mut conn, user).await?;
    let workspace = match request.workspace {
        Some(workspace) => {
            access::member(&mut conn, actor, workspace).await?;
            workspace
        }
        None => access::personal_workspace(&mut conn, user).await?,
    };
    let live_keys: i64 = api_keys::table
        .filter(api_keys::user_id.eq(user.0))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .await?;
    if live_keys >= MAX_KEYS_PER_USER {
        return Err(ServiceError::Conflict {
            field: "name",
            message: format!("you have {MAX_KEYS_PER_USER} keys; revoke one first"),
        });
    }
    let prefix = format!(
        "{TOKEN_PREFIX}{}",
        &Uuid::new_v4().simple().to_string()[..12]
    );
    let token = format!("{prefix}_{}", tokens::random(SECRET_BYTES)?);
    let expires_at = request
        .expires_in_days
        .map(|days| Utc::now() + TimeDelta::days(i64::from(days)));
    let actor = actor.clone();
    let meta = meta.clone();
    let digest = tokens::digest(&token);
    let row = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let row: KeyRow = diesel::insert_into(api_keys::table)
                .values((
                    api_keys::user_id.eq(user.0),
                    api_keys::workspace_id.eq(workspace.0),
                    api_keys::name.eq(&name),
                    api_keys::prefix.eq(&prefix),
                    api_keys::token_hash.eq(&digest),
                    api_keys::scopes.eq(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
                    api_keys::expires_at.eq(expires_at),
                    api_keys::spend_cap_credits.eq(request.spend_cap_credits),
                ))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                Entry {
                    action: action::KEY_CREATED,
                    user: None,
                    actor: &actor,
                    workspace: Some(workspace),
                    target_type: "api_key",
                    target_id: row.id.to_string(),
                    meta: &meta,
                    details: json!({
                        "name": name,
                        "prefix": prefix,
                        "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                        "spend_cap_credits": request.spend_cap_credits,
                    }),
                },
            )
            .await?;
            Ok(row)
        })
        .await?;
    Ok(CreatedApiKey {
        key: row.into_info(),
        token,
    })
}

/// The signed-in user's keys, newest first, revoked ones included.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<ApiKeyInfo>, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let rows: Vec<KeyRow> = api_keys::table
        .filter(api_keys::user_id.eq(user.0))
        .order(api_keys::created_at.desc())
        .select(KeyRow::as_select())
        .load(&mut conn)
        .await?;
    let capped: Vec<Uuid> = rows
        .iter()
        .filter(|row| row.spend_cap_credits.is_some())
        .map(|row| row.id)
        .collect();
    let spent: std::collections::HashMap<Uuid, i64> = if capped.is_empty() {
        Default::default()
    } else {
        spend::by_keys(&mut conn, &capped)
            .await?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let spent = row
                .spend_cap_credits
                .map(|_| spent.get(&row.id).copied().unwrap_or(0));
            ApiKeyInfo {
                spent_this_month: spent,
                ..row.into_info()
            }
        })
        .collect())
}

/// Sets or lifts the monthly spend cap of one of the caller's keys.
pub async fn change_spend_cap(
    services: &Services,
    actor: &Actor,
    id: ApiKeyId,
    cap: Option<i64>,
    meta: &RequestMeta,
) -> Result<ApiKeyInfo, ServiceError> {
    let user = actor.require_session()?;
    spend::check_cap("monthly_credits", cap)?;
    let mut conn = services.conn().await?;
    let actor = actor.clone();
    let meta = meta.clone();
    let row = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let row: Option<KeyRow> = diesel::update(api_keys::table.find(id.0))
                .filter(api_keys::user_id.eq(user.0))
                .set(api_keys::spend_cap_credits.eq(cap))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            let row = row.ok_or(ServiceError::NotFound { what: "API key" })?;
            audit::record(
                conn,
                Entry {
                    action: action::KEY_SPEND_CAP_CHANGED,
                    user: None,
                    actor: &actor,
                    workspace: Some(WorkspaceId(row.workspace_id)),
                    target_type: "api_key",
                    target_id: row.id.to_string(),
                    meta: &meta,
                    details: json!({ "prefix": row.prefix, "monthly_credits": cap }),
                },
            )
            .await?;
            Ok(row)
        })
        .await?;
    let spent = match row.spend_cap_credits {
        Some(_) => Some(spend::by_key(&mut conn, row.id).await?),
        None => None,
    };
    Ok(ApiKeyInfo {
        spent_this_month: spent,
        ..row.into_info()
    })
}

/// Revokes one of the caller's keys; someone else's key is "not found".
pub async fn revoke(
    services: &Services,
    actor: &Actor,
    id: ApiKeyId,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let row: Option<KeyRow> = diesel::update(api_keys::table.find(id.0))
            .filter(api_keys::user_id.eq(user.0))
            .set(api_keys::revoked_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(revoked_at, now())")))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        let row = row.ok_or(ServiceError::NotFound { what: "API key" })?;
        audit::record(
            conn,
            Entry {
                action: action::KEY_REVOKED,
                user: None,
                actor: &actor,
                workspace: Some(WorkspaceId(row.workspace_id)),
                target_type: "api_key",
                target_id: row.id.to_string(),
                meta: &meta,
                details: json!({ "prefix": row.prefix }),
            },
        )
        .await
    })
    .await
}

/// The actor a bearer token stands for. A token that is unknown, revoked or
/// expired is 401: a program with a dead key should hear so, not be served
/// as anonymous.
pub async fn resolve(services: &Services, token: &str) -> Result<Actor, ServiceError> {
    let invalid = || ServiceError::InvalidApiKey;
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let mut conn = services.conn().await?;
    let row: KeyRow = api_keys::table
        .filter(api_keys::token_hash.eq(tokens::digest(token)))
        .select(KeyRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid());
    }
    if row.last_used_at.is_none_or(|at| now - at > TOUCH_EVERY) {
        diesel::update(api_keys::table.find(row.id))
            .set(api_keys::last_used_at.eq(now))
            .execute(&mut conn)
            .await?;
    }
    Ok(Actor::ApiKey {
        user_id: UserId(row.user_id),
        key_id: ApiKeyId(row.id),
        workspace_id: WorkspaceId(row.workspace_id),
        scopes: row.scopes(),
    })
}
