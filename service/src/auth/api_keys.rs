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

/// Takes the owner's row lock: making and revoking a user's keys happen
/// one at a time, so a key being revoked cannot make one meanwhile and
/// the live-key allowance holds.
pub(crate) async fn lock_owner(
    conn: &mut diesel_async::AsyncPgConnection,
    user: UserId,
) -> Result<(), ServiceError> {
    use crate::schema::users;
    users::table
        .find(user.0)
        .select(users::id)
        .for_update()
        .first::<Uuid>(conn)
        .await?;
    Ok(())
}

/// What a new key is, once its caller is checked.
pub(crate) struct NewKey {
    pub user: UserId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub spend_cap_credits: Option<i64>,
    /// The key that made it, which takes it along when revoked.
    pub made_by: Option<ApiKeyId>,
}

/// The key that asks to manage keys, as far as making one needs it.
struct Maker {
    id: Uuid,
    workspace: WorkspaceId,
    scopes: Vec<Scope>,
    expires_at: Option<DateTime<Utc>>,
    capped: bool,
}

/// The user whose keys `actor` manages, and, for a key holding
/// `keys:write`, that key.
async fn manager(
    conn: &mut diesel_async::AsyncPgConnection,
    actor: &Actor,
) -> Result<(UserId, Option<Maker>), ServiceError> {
    match actor {
        Actor::ApiKey { key_id, .. } => {
            let user = actor.require_scope(Scope::KeysWrite)?;
            let row: KeyRow = api_keys::table
                .find(key_id.0)
                .select(KeyRow::as_select())
                .first(conn)
                .await?;
            Ok((
                user,
                Some(Maker {
                    id: row.id,
                    workspace: WorkspaceId(row.workspace_id),
                    scopes: row.scopes(),
                    expires_at: row.expires_at,
                    capped: row.spend_cap_credits.is_some(),
                }),
            ))
        }
        _ => Ok((actor.require_session()?, None)),
    }
}

/// Creates a key for the signed-in user, or, asked by a key holding
/// `keys:write`, a key in that key's workspace with no more scopes and no
/// later expiry; the token is in the answer only.
pub async fn create(
    services: &Services,
    actor: &Actor,
    request: CreateApiKey,
    meta: &RequestMeta,
) -> Result<CreatedApiKey, ServiceError> {
    let (name, scopes) = validate(&request)?;
    let mut conn = services.conn().await?;
    let (user, maker) = manager(&mut conn, actor).await?;
    crate::auth::recovery::require_verified(&mut conn, user).await?;
    let mut expires_at = request
        .expires_in_days
        .map(|days| Utc::now() + TimeDelta::days(i64::from(days)));
    let workspace = match (&maker, request.workspace) {
        (Some(maker), workspace) => {
            if workspace.is_some_and(|workspace| workspace != maker.workspace) {
                return Err(ServiceError::Forbidden(
                    "a key makes keys in its own workspace only".to_owned(),
                ));
            }
            if maker.capped {
                return Err(ServiceError::Forbidden(
                    "a key with a spend cap cannot make keys".to_owned(),
                ));
            }
            if let Some(scope) = scopes.iter().find(|scope| !maker.scopes.contains(scope)) {
                return Err(ServiceError::Forbidden(format!(
                    "this API key lacks the {} scope, so it cannot give it",
                    scope.as_str()
                )));
            }
            if let Some(limit) = maker.expires_at {
                expires_at = Some(expires_at.map_or(limit, |at| at.min(limit)));
            }
            access::member(&mut conn, actor, maker.workspace).await?;
            maker.workspace
        }
        (None, Some(workspace)) => {
            access::member(&mut conn, actor, workspace).await?;
            workspace
        }
        (None, None) => access::personal_workspace(&mut conn, user).await?,
    };
    let new = NewKey {
        user,
        workspace,
        name,
        scopes,
        expires_at,
        spend_cap_credits: request.spend_cap_credits,
        made_by: maker.map(|maker| ApiKeyId(maker.id)),
    };
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        insert(conn, new, &actor, &meta, json!({})).await
    })
    .await
}

/// Whether `user` may have one more live key (checked again, under the
/// owner's lock, when it is made).
pub(crate) async fn room_for_one_more(
    conn: &mut diesel_async::AsyncPgConnection,
    user: UserId,
) -> Result<(), ServiceError> {
    let live: i64 = api_keys::table
        .filter(api_keys::user_id.eq(user.0))
        .filter(api_keys::revoked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(Utc::now())),
        )
        .count()
        .get_result(conn)
        .await?;
    if live >= MAX_KEYS_PER_USER {
        return Err(ServiceError::Conflict {
            field: "name",
            message: format!(
                "you have {MAX_KEYS_PER_USER} keys; revoke one in Settings → API keys first"
            ),
        });
    }
    Ok(())
}

/// Inserts a checked key (within the owner's live-key allowance) and
/// audits it with `details` added; the token is in the answer only.
pub(crate) async fn insert(
    conn: &mut diesel_async::AsyncPgConnection,
    new: NewKey,
    actor: &Actor,
    meta: &RequestMeta,
    mut details: serde_json::Value,
) -> Result<CreatedApiKey, ServiceError> {
    lock_owner(conn, new.user).await?;
    // The maker may have been revoked (or expired) since this request was
    // let in; under the lock, that is final.
    let now = Utc::now();
    let live = api_keys::revoked_at.is_null().and(
        api_keys::expires_at
            .is_null()
            .or(api_keys::expires_at.gt(now)),
    );
    if let Some(maker) = new.made_by {
        let maker_live: i64 = api_keys::table
            .filter(api_keys::id.eq(maker.0))
            .filter(live)
            .count()
            .get_result(conn)
            .await?;
        if maker_live == 0 {
            return Err(ServiceError::InvalidApiKey);
        }
    }
    room_for_one_more(conn, new.user).await?;
    let prefix = format!(
        "{TOKEN_PREFIX}{}",
        &Uuid::new_v4().simple().to_string()[..12]
    );
    let token = format!("{prefix}_{}", tokens::random(SECRET_BYTES)?);
    let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
    let row: KeyRow = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(new.user.0),
            api_keys::workspace_id.eq(new.workspace.0),
            api_keys::name.eq(&new.name),
            api_keys::prefix.eq(&prefix),
            api_keys::token_hash.eq(tokens::digest(&token)),
            api_keys::scopes.eq(&scopes),
            api_keys::expires_at.eq(new.expires_at),
            api_keys::spend_cap_credits.eq(new.spend_cap_credits),
            api_keys::made_by_key_id.eq(new.made_by.map(|key| key.0)),
        ))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await?;
    if let Some(fields) = details.as_object_mut() {
        fields.insert("name".into(), json!(new.name));
        fields.insert("prefix".into(), json!(prefix));
        fields.insert("scopes".into(), json!(scopes));
        fields.insert("spend_cap_credits".into(), json!(new.spend_cap_credits));
        if let Some(maker) = new.made_by {
            fields.insert("made_by_key".into(), json!(maker.0));
        }
    }
    audit::record(
        conn,
        Entry {
            action: action::KEY_CREATED,
            user: Some(new.user),
            actor,
            workspace: Some(new.workspace),
            target_type: "api_key",
            target_id: row.id.to_string(),
            meta,
            details,
        },
    )
    .await?;
    Ok(CreatedApiKey {
        key: row.into_info(),
        token,
    })
}

/// The signed-in user's keys, newest first, revoked ones included; for a
/// key holding `keys:write`, those in its workspace.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<ApiKeyInfo>, ServiceError> {
    let mut conn = services.conn().await?;
    let (user, maker) = manager(&mut conn, actor).await?;
    let mut query = api_keys::table
        .filter(api_keys::user_id.eq(user.0))
        .into_boxed();
    if let Some(maker) = &maker {
        query = query.filter(api_keys::workspace_id.eq(maker.workspace.0));
    }
    let rows: Vec<KeyRow> = query
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
            // Keys it made are not under its cap: capping it while they
            // live would leave a way around the cap.
            if cap.is_some() {
                lock_owner(conn, user).await?;
                let made: i64 = api_keys::table
                    .filter(api_keys::made_by_key_id.eq(id.0))
                    .filter(api_keys::revoked_at.is_null())
                    .count()
                    .get_result(conn)
                    .await?;
                if made > 0 {
                    return Err(ServiceError::Conflict {
                        field: "monthly_credits",
                        message: format!(
                            "this key made {made} live keys its cap would not cover; revoke them first"
                        ),
                    });
                }
            }
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

/// Revokes one of the caller's keys, and the keys it made (and theirs);
/// someone else's key, or for a key holding `keys:write` one it did not
/// make, is "not found". A key may always revoke itself.
pub async fn revoke(
    services: &Services,
    actor: &Actor,
    id: ApiKeyId,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    // Any key may revoke itself (`agentdeck logout`); else the caller
    // manages keys.
    let (user, maker) = match actor {
        Actor::ApiKey {
            key_id, user_id, ..
        } if *key_id == id => (*user_id, None),
        _ => manager(&mut conn, actor).await?,
    };
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        lock_owner(conn, user).await?;
        // A key manages itself and the keys it made (and theirs), never
        // its owner's other keys.
        if let Some(maker) = &maker
            && maker.id != id.0
        {
            let made: Made = diesel::sql_query(
                "WITH RECURSIVE made(id) AS ( \
                     SELECT id FROM api_keys WHERE made_by_key_id = $1 \
                     UNION SELECT k.id FROM api_keys k JOIN made ON k.made_by_key_id = made.id) \
                 SELECT EXISTS (SELECT 1 FROM made WHERE id = $2) AS made",
            )
            .bind::<diesel::sql_types::Uuid, _>(maker.id)
            .bind::<diesel::sql_types::Uuid, _>(id.0)
            .get_result(conn)
            .await?;
            if !made.made {
                return Err(ServiceError::NotFound { what: "API key" });
            }
        }
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
        let made: Vec<RevokedKey> = diesel::sql_query(
            "WITH RECURSIVE made(id) AS ( \
                 SELECT id FROM api_keys WHERE made_by_key_id = $1 \
                 UNION SELECT k.id FROM api_keys k JOIN made ON k.made_by_key_id = made.id) \
             UPDATE api_keys SET revoked_at = now() \
              WHERE id IN (SELECT id FROM made) AND revoked_at IS NULL \
             RETURNING id, prefix, workspace_id",
        )
        .bind::<diesel::sql_types::Uuid, _>(row.id)
        .load::<RevokedKey>(conn)
        .await?;
        let ids: Vec<Uuid> = made.iter().map(|key| key.id).collect();
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
                details: json!({ "prefix": row.prefix, "keys_it_made": ids }),
            },
        )
        .await?;
        // Each key revoked with it has its own entry, found by its id.
        for key in made {
            audit::record(
                conn,
                Entry {
                    action: action::KEY_REVOKED,
                    user: None,
                    actor: &actor,
                    workspace: Some(WorkspaceId(key.workspace_id)),
                    target_type: "api_key",
                    target_id: key.id.to_string(),
                    meta: &meta,
                    details: json!({ "prefix": key.prefix, "with_key": row.id }),
                },
            )
            .await?;
        }
        Ok(())
    })
    .await
}

#[derive(QueryableByName)]
struct Made {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    made: bool,
}

#[derive(QueryableByName)]
struct RevokedKey {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    prefix: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    workspace_id: Uuid,
}

/// Which of `ids` are keys still in force (not revoked, not expired, and
/// their owner still a member, at least Member, of their workspace): for
/// whoever holds on to a connection made with a key.
pub async fn in_force(services: &Services, ids: &[Uuid]) -> Result<Vec<Uuid>, ServiceError> {
    use crate::schema::workspace_members;
    let mut conn = services.conn().await?;
    Ok(api_keys::table
        .inner_join(
            workspace_members::table.on(workspace_members::user_id
                .eq(api_keys::user_id)
                .and(workspace_members::workspace_id.eq(api_keys::workspace_id))),
        )
        .filter(api_keys::id.eq_any(ids))
        .filter(api_keys::revoked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(Utc::now())),
        )
        .filter(workspace_members::role.ne("viewer"))
        .select(api_keys::id)
        .load(&mut conn)
        .await?)
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
