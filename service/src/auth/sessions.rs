//! Browser sessions, kept in PostgreSQL. The cookie carries a random token;
//! the table holds its digest. A session ends when signed out, when unused
//! for the idle period, or at its absolute expiry, whichever comes first.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Actor, RequestMeta, SessionPolicy, tokens};
use crate::schema::sessions;
use crate::{ServiceError, Services};
use types::account::SessionInfo;
use types::{SessionId, UserId};

/// Bytes of randomness in a session token (256 bits).
const TOKEN_BYTES: usize = 32;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// A session just created: `token` goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct NewSession {
    pub id: SessionId,
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    user: UserId,
    meta: &RequestMeta,
    policy: SessionPolicy,
) -> Result<NewSession, ServiceError> {
    let token = tokens::random(TOKEN_BYTES)?;
    let csrf_token = tokens::random(TOKEN_BYTES)?;
    let expires_at = Utc::now() + delta(policy.absolute);
    let id: Uuid = diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(tokens::digest(&token)),
            sessions::user_id.eq(user.0),
            sessions::csrf_token.eq(&csrf_token),
            sessions::expires_at.eq(expires_at),
            sessions::ip.eq(&meta.ip),
            sessions::user_agent.eq(&meta.user_agent),
        ))
        .returning(sessions::id)
        .get_result(conn)
        .await?;
    Ok(NewSession {
        id: SessionId(id),
        token,
        csrf_token,
        expires_at,
    })
}

/// The actor a session token stands for, if the session is still alive.
pub async fn resolve(services: &Services, token: &str) -> Result<Actor, ServiceError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Actor::Anonymous);
    }
    let mut conn = services.conn().await?;
    let now = Utc::now();
    let found: Option<(Uuid, Uuid, String, DateTime<Utc>)> = sessions::table
        .filter(sessions::token_hash.eq(tokens::digest(token)))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now - delta(services.sessions.idle)))
        .select((
            sessions::id,
            sessions::user_id,
            sessions::csrf_token,
            sessions::last_seen_at,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((id, user_id, csrf_token, last_seen)) = found else {
        return Ok(Actor::Anonymous);
    };
    if now - last_seen > TOUCH_EVERY {
        diesel::update(sessions::table.find(id))
            .set(sessions::last_seen_at.eq(now))
            .execute(&mut conn)
            .await?;
    }
    Ok(Actor::Session {
        user_id: UserId(user_id),
        session_id: SessionId(id),
        csrf_token,
    })
}

pub async fn revoke(conn: &mut AsyncPgConnection, id: SessionId) -> Result<(), ServiceError> {
    diesel::update(sessions::table.find(id.0))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// The caller's live sessions, newest activity first.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<SessionInfo>, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let now = Utc::now();
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::user_id.eq(user.0))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now - delta(services.sessions.idle)))
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(&mut conn)
        .await?;
    let current = actor.session_id();
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            id: SessionId(row.id),
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            ip: row.ip,
            user_agent: row.user_agent,
            current: current == Some(SessionId(row.id)),
        })
        .collect())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: String,
    user_agent: String,
}

/// Ends every session of the caller but the current one; returns how many.
pub async fn revoke_others(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<usize, ServiceError> {
    let user = actor.require_session()?;
    let keep = actor.session_id().map(|id| id.0);
    let mut conn = services.conn().await?;
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let mut query = diesel::update(sessions::table)
            .filter(sessions::user_id.eq(user.0))
            .filter(sessions::revoked_at.is_null())
            .into_boxed();
        if let Some(keep) = keep {
            query = query.filter(sessions::id.ne(keep));
        }
        let ended = query
            .set(sessions::revoked_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        super::audit::record(
            conn,
            super::audit::Entry {
                action: super::audit::action::SESSIONS_REVOKED,
                user: None,
                actor: &actor,
                workspace: None,
                target_type: "user",
                target_id: user.to_string(),
                meta: &meta,
                details: serde_json::json!({ "ended": ended }),
            },
        )
        .await?;
        Ok(ended)
    })
    .await
}

/// How long dead sessions and sign-in flows stay before `purge` removes
/// them (the audit log keeps what happened; these rows are only state).
const KEEP_DEAD: TimeDelta = TimeDelta::days(7);

/// Deletes sessions that ended (expired, idle or revoked) more than a week
/// ago, and GitHub sign-in flows past their expiry. Returns how many rows
/// of each went. The server runs it hourly.
pub async fn purge(services: &Services) -> Result<(usize, usize), ServiceError> {
    use crate::schema::oauth_flows;

    let mut conn = services.conn().await?;
    let cutoff = Utc::now() - KEEP_DEAD;
    let sessions = diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(cutoff)
                .or(sessions::revoked_at.lt(cutoff))
                .or(sessions::last_seen_at.lt(cutoff - delta(services.sessions.idle))),
        ),
    )
    .execute(&mut conn)
    .await?;
    let flows = diesel::delete(oauth_flows::table.filter(oauth_flows::expires_at.lt(Utc::now())))
        .execute(&mut conn)
        .await?;
    Ok((sessions, flows))
}

/// Until when `actor`'s credentials hold, or `None` when they do not any
/// more (signed out, revoked, expired or idle). Anonymous callers hold
/// forever. Live sockets ask again when their user's access changes, and
/// when this time comes.
pub async fn valid_until(
    services: &Services,
    actor: &Actor,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    use crate::schema::api_keys;
    let mut conn = services.conn().await?;
    let now = Utc::now();
    let until = match actor {
        Actor::Anonymous => Some(DateTime::<Utc>::MAX_UTC),
        Actor::Session { session_id, .. } => sessions::table
            .find(session_id.0)
            .filter(sessions::revoked_at.is_null())
            .select((sessions::expires_at, sessions::last_seen_at))
            .first::<(DateTime<Utc>, DateTime<Utc>)>(&mut conn)
            .await
            .optional()?
            .map(|(expires, seen)| expires.min(seen + delta(services.sessions.idle))),
        Actor::ApiKey { key_id, .. } => api_keys::table
            .find(key_id.0)
            .filter(api_keys::revoked_at.is_null())
            .select(api_keys::expires_at)
            .first::<Option<DateTime<Utc>>>(&mut conn)
            .await
            .optional()?
            .map(|expires| expires.unwrap_or(DateTime::<Utc>::MAX_UTC)),
        Actor::Trigger { .. } => None,
        // A visitor's token ends by itself; its socket follows only its
        // own runs.
        Actor::Visitor { expires_at, .. } => Some(*expires_at),
    };
    Ok(until.filter(|until| *until > now))
}
