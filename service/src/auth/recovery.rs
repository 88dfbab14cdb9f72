//! Proving an address and getting back in: verification links, password
//! resets, password and email changes. Every link carries a random token
//! of its own; only its digest is stored (`account_tokens`), it works once,
//! and it expires (24 hours for an address, one hour for a reset). Every
//! step is audited, and the mail it sends commits with it (`mail::enqueue`).
//!
//! The limits of the browser's door (`SignInLimits`) apply here too: mail
//! to an address is rate-limited, and a wrong current password counts as a
//! failed sign-in of the account.

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Entry, action};
use super::devices::Device;
use super::door::SignInLimits;
use super::sessions::{self, NewSession};
use super::{Actor, RequestMeta, accounts, password, tokens};
use crate::jobs::{self, NewJob};
use crate::mail::{self, templates};
use crate::schema::{account_tokens, sessions as sessions_table, users};
use crate::{ServiceError, Services};
use types::UserId;
use types::account::{EmailChange, EmailVerified, MailQueued, Me, PasswordChange, PasswordReset};

/// How long a verification link works.
pub const VERIFY_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// How long a password-reset link works.
pub const RESET_LIFETIME: TimeDelta = TimeDelta::hours(1);
/// At most one reset link is mailed to an address this often.
pub const RESET_SPACING: TimeDelta = TimeDelta::minutes(2);
/// The job that mails a reset link, if the address has an account.
pub const RESET_JOB: &str = "auth.password_reset";
const TOKEN_BYTES: usize = 32;
const VERIFY: &str = "verify_email";
const RESET: &str = "reset_password";

fn bad_link() -> ServiceError {
    ServiceError::invalid(
        "token",
        "this link is not valid: it was already used, has expired, or was replaced by a newer \
         one; ask for a new link",
    )
}

/// Who an account is, as the messages address them.
struct Account {
    email: Option<String>,
    name: String,
    password_hash: Option<String>,
    email_verified: bool,
}

async fn account(conn: &mut AsyncPgConnection, user: UserId) -> Result<Account, ServiceError> {
    let (email, name, password_hash, email_verified) = users::table
        .find(user.0)
        .select((
            users::email,
            users::display_name,
            users::password_hash,
            users::email_verified,
        ))
        .first::<(Option<String>, String, Option<String>, bool)>(conn)
        .await?;
    Ok(Account {
        email,
        name,
        password_hash,
        email_verified,
    })
}

/// A new token for `user`'s `purpose` at `email`; answers the token. With
/// `replace`, earlier ones of the purpose stop working.
async fn issue(
    conn: &mut AsyncPgConnection,
    user: UserId,
    purpose: &'static str,
    email: &str,
    lifetime: TimeDelta,
    replace: bool,
) -> Result<String, ServiceError> {
    let now = Utc::now();
    if replace {
        diesel::update(account_tokens::table)
            .filter(account_tokens::user_id.eq(user.0))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .set(account_tokens::used_at.eq(now))
            .execute(conn)
            .await?;
    }
    let token = tokens::random(TOKEN_BYTES)?;
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::user_id.eq(user.0),
            account_tokens::purpose.eq(purpose),
            account_tokens::token_hash.eq(tokens::digest(&token)),
            account_tokens::email.eq(email),
            account_tokens::expires_at.eq(now + lifetime),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Uses up a live token: its user and address, or `None`.
async fn claim(
    conn: &mut AsyncPgConnection,
    purpose: &'static str,
    token: &str,
) -> Result<Option<(UserId, String)>, ServiceError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let now = Utc::now();
    Ok(diesel::update(account_tokens::table)
        .filter(account_tokens::token_hash.eq(tokens::digest(token)))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .set(account_tokens::used_at.eq(now))
        .returning((account_tokens::user_id, account_tokens::email))
        .get_result::<(Uuid, String)>(conn)
        .await
        .optional()?
        .map(|(user, email)| (UserId(user), email)))
}

fn link(services: &Services, page: &str, token: &str) -> String {
    // In the fragment: browsers send it to no server, so it stays out of
    // access logs and Referer headers.
    format!(
        "{}/{page}#token={token}",
        services.public_url.trim_end_matches('/')
    )
}

/// Mails a verification link for `email` (the account's own address, or
/// one it is moving to), inside the caller's transaction.
pub(super) async fn send_verification(
    conn: &mut AsyncPgConnection,
    services: &Services,
    user: UserId,
    email: &str,
    changing: bool,
) -> Result<(), ServiceError> {
    let token = issue(conn, user, VERIFY, email, VERIFY_LIFETIME, true).await?;
    let link = link(services, "verify-email", &token);
    // No name in mail to an address not yet proven: whoever typed it chose
    // the name, and it must not carry their words to a stranger.
    let mail = if changing {
        templates::confirm_new_email(email, &link)
    } else {
        templates::verify_email(email, &link)
    };
    mail::enqueue(conn, &mail).await
}

/// The signed-in user's address is not verified yet, and this needs it.
pub async fn require_verified(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<(), ServiceError> {
    let verified: bool = users::table
        .find(user.0)
        .select(users::email_verified)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(false);
    if verified {
        Ok(())
    } else {
        Err(ServiceError::EmailUnverified)
    }
}

/// Sends the signed-in user another verification link (the earlier one
/// stops working).
pub async fn resend_verification(
    services: &Services,
    limits: &dyn SignInLimits,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<MailQueued, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let found = account(&mut conn, user).await?;
    let Some(email) = found.email.filter(|_| !found.email_verified) else {
        return Err(ServiceError::Conflict {
            field: "email",
            message: "the address is verified already".to_owned(),
        });
    };
    limits.mail_from(&meta.ip)?;
    limits.mail_to(&email)?;
    let (meta, actor) = (meta.clone(), actor.clone());
    let to = email.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        send_verification(conn, services, user, &email, false).await?;
        audited(
            conn,
            action::EMAIL_VERIFICATION_SENT,
            &actor,
            user,
            &meta,
            json!({ "email": email }),
        )
        .await
    })
    .await?;
    Ok(MailQueued { to })
}

/// Follows a verification link: the address is proven, and when it was a
/// new one, the account moves to it and the old address hears of it. Needs
/// no session: the link is the proof, in whichever browser it is opened.
pub async fn verify_email(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    token: &str,
) -> Result<EmailVerified, ServiceError> {
    actor.require_browser()?;
    let mut conn = services.conn().await?;
    let (meta, actor) = (meta.clone(), actor.clone());
    let token = token.to_owned();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let (user, proven) = claim(conn, VERIFY, &token).await?.ok_or_else(bad_link)?;
        let found = account(conn, user).await?;
        let changed = found.email.as_deref() != Some(proven.as_str());
        if changed {
            let taken: bool = diesel::select(diesel::dsl::exists(
                users::table
                    .filter(users::id.ne(user.0))
                    .filter(users::email.eq(&proven)),
            ))
            .get_result(conn)
            .await?;
            if taken {
                return Err(ServiceError::Conflict {
                    field: "email",
                    message: "another account took this address meanwhile".to_owned(),
                });
            }
            // Reset links went to the old address: they die with it.
            diesel::update(account_tokens::table)
                .filter(account_tokens::user_id.eq(user.0))
                .filter(account_tokens::used_at.is_null())
                .set(account_tokens::used_at.eq(Utc::now()))
                .execute(conn)
                .await?;
        }
        diesel::update(users::table.find(user.0))
            .set((
                users::email.eq(&proven),
                users::email_verified.eq(true),
                users::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        if changed {
            bump_epoch(conn, user).await?;
        }
        if changed && let Some(old) = &found.email {
            mail::enqueue(conn, &templates::email_changed(old, &found.name, &proven)).await?;
        }
        audited(
            conn,
            if changed {
                action::EMAIL_CHANGED
            } else {
                action::EMAIL_VERIFIED
            },
            &actor,
            user,
            &meta,
            json!({ "email": proven, "previous": found.email.filter(|_| changed) }),
        )
        .await?;
        Ok(EmailVerified {
            email: proven,
            changed,
        })
    })
    .await
    .map_err(accounts::unique_email_race)
}

/// Asks for a reset link. The answer and the work are the same whether or
/// not the address has an account: a job looks it up later (`send_reset`).
pub async fn request_reset(
    services: &Services,
    limits: &dyn SignInLimits,
    actor: &Actor,
    meta: &RequestMeta,
    email: &str,
) -> Result<(), ServiceError> {
    actor.require_browser()?;
    let email = accounts::normalize_email(email)?;
    // Per requesting address only: a budget per recipient could be spent
    // by a stranger to stop the owner's own request. What the recipient
    // gets is bounded by the job instead (one link per `RESET_SPACING`).
    limits.mail_from(&meta.ip)?;
    let mut conn = services.conn().await?;
    let payload = json!({ "email": email, "ip": meta.ip, "user_agent": meta.user_agent });
    // One job per request, whatever the address: a shared key would make
    // repeated requests cheaper while a known address's (longer) job runs,
    // which a stopwatch could tell. The job spaces the mails out.
    jobs::enqueue(&mut conn, NewJob::new(RESET_JOB, payload).max_attempts(5)).await?;
    Ok(())
}

/// The reset job: when `email` belongs to an account, mails it a link.
pub async fn send_reset(
    services: &Services,
    email: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let found: Option<(Uuid, String)> = users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.to_owned()),
        )
        .select((users::id, users::display_name))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((user, name)) = found else {
        tracing::info!("a password reset was asked for an address without an account");
        return Ok(());
    };
    let user = UserId(user);
    // Whoever asks, the link goes to the owner's inbox; a link mailed in
    // the last minutes is there already, and earlier links stay valid
    // (a stranger's requests never replace the one the owner is reading).
    let recent: bool = diesel::select(diesel::dsl::exists(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user.0))
            .filter(account_tokens::purpose.eq(RESET))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::created_at.gt(Utc::now() - RESET_SPACING)),
    ))
    .get_result(&mut conn)
    .await?;
    if recent {
        return Ok(());
    }
    let (meta, email) = (meta.clone(), email.to_owned());
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let token = issue(conn, user, RESET, &email, RESET_LIFETIME, false).await?;
        let link = link(services, "reset-password", &token);
        mail::enqueue(conn, &templates::reset_password(&email, &name, &link)).await?;
        audited(
            conn,
            action::PASSWORD_RESET_REQUESTED,
            &Actor::Anonymous,
            user,
            &meta,
            json!({}),
        )
        .await
    })
    .await
}

/// Ends every session of `user` but `keep`; answers how many ended.
async fn end_sessions(
    conn: &mut AsyncPgConnection,
    user: UserId,
    keep: Option<types::SessionId>,
) -> Result<usize, ServiceError> {
    let mut query = diesel::update(sessions_table::table)
        .filter(sessions_table::user_id.eq(user.0))
        .filter(sessions_table::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(sessions_table::id.ne(keep.0));
    }
    Ok(query
        .set(sessions_table::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?)
}

/// Sets a new password with a reset link's token: every session of the
/// account ends, the address the link went to counts as verified, and a
/// new session starts. Answers it with the account's address (for the
/// device cookie). A weak password is refused before the token is used.
pub async fn reset_password(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    request: PasswordReset,
) -> Result<(Me, NewSession, String), ServiceError> {
    actor.require_browser()?;
    let mut conn = services.conn().await?;
    let live: Option<Uuid> = account_tokens::table
        .filter(account_tokens::token_hash.eq(tokens::digest(&request.token)))
        .filter(account_tokens::purpose.eq(RESET))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(Utc::now()))
        .select(account_tokens::user_id)
        .first(&mut conn)
        .await
        .optional()?;
    let user = UserId(live.ok_or_else(bad_link)?);
    let found = account(&mut conn, user).await?;
    let email = found.email.clone().unwrap_or_default();
    password::check(&request.password, &[&email, &found.name])?;
    let hash = password::hash(request.password).await?;
    let (meta, policy, token) = (meta.clone(), services.sessions, request.token);
    let (session, email) = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let (claimed, proven) = claim(conn, RESET, &token).await?.ok_or_else(bad_link)?;
            if claimed != user {
                return Err(bad_link());
            }
            let still_there = found.email.as_deref() == Some(proven.as_str());
            diesel::update(users::table.find(user.0))
                .set((
                    users::password_hash.eq(&hash),
                    users::email_verified.eq(found.email_verified || still_there),
                    users::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            // Whoever held the account before the reset keeps nothing:
            // sessions, keys, known browsers, pending links all end; an
            // account that had not proven its address also loses a GitHub
            // link its holder made (the one who reads the mail is the owner).
            let ended = end_sessions(conn, user, None).await?;
            let keys = revoke_keys(conn, user).await?;
            bump_epoch(conn, user).await?;
            expire_links(conn, user).await?;
            if !found.email_verified {
                diesel::update(users::table.find(user.0))
                    .set(users::github_id.eq(None::<i64>))
                    .execute(conn)
                    .await?;
            }
            diesel::delete(
                crate::schema::oauth_flows::table
                    .filter(crate::schema::oauth_flows::link_user_id.eq(user.0)),
            )
            .execute(conn)
            .await?;
            let session = sessions::create(conn, user, &meta, policy).await?;
            mail::enqueue(conn, &templates::password_changed(&proven, &found.name)).await?;
            audited(
                conn,
                action::PASSWORD_RESET,
                &Actor::Anonymous,
                user,
                &meta,
                json!({ "sessions_ended": ended, "keys_revoked": keys,
                                     "github_unlinked": !found.email_verified }),
            )
            .await?;
            Ok((session, email))
        })
        .await?;
    let me = accounts::load_me(&mut conn, user, Some(session.csrf_token.clone())).await?;
    Ok((me, session, email))
}

/// Checks the signed-in user's current password. Failures count for this
/// session (as for a known device), so a stranger failing to sign in to the
/// account elsewhere never stops its signed-in owner, and a stolen session
/// cannot guess on for long.
async fn confirm_password(
    limits: &dyn SignInLimits,
    actor: &Actor,
    meta: &RequestMeta,
    field: &'static str,
    found: &Account,
    given: String,
) -> Result<(), ServiceError> {
    let session = actor.session_id().ok_or(ServiceError::Unauthenticated)?;
    let device = Device(*session.0.as_bytes());
    limits.before_address(&meta.ip)?;
    limits.before_device(device)?;
    let right = given.chars().count() <= password::MAX_CHARS
        && password::verify(given, found.password_hash.clone()).await;
    if right {
        Ok(())
    } else {
        limits.wrong_device_password(&meta.ip, device);
        Err(ServiceError::invalid(field, "is not your current password"))
    }
}

/// Records `action` on `user`'s account in the audit log: done by `actor`,
/// or, when anonymous (a mailed link), in the account's own name.
async fn audited(
    conn: &mut AsyncPgConnection,
    action: &'static str,
    actor: &Actor,
    user: UserId,
    meta: &RequestMeta,
    details: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        Entry {
            action,
            user: Some(user),
            actor,
            workspace: None,
            target_type: "user",
            target_id: user.to_string(),
            meta,
            details,
        },
    )
    .await
}

/// Ends every live API key of `user`, and the device sign-ins approved
/// but not yet collected; answers how many keys.
async fn revoke_keys(conn: &mut AsyncPgConnection, user: UserId) -> Result<usize, ServiceError> {
    use crate::schema::{api_keys, device_grants};
    // Under the owner's lock, so no key a key is making slips past.
    super::api_keys::lock_owner(conn, user).await?;
    diesel::update(device_grants::table)
        .filter(device_grants::user_id.eq(user.0))
        .filter(device_grants::status.eq("approved"))
        .set(device_grants::status.eq("denied"))
        .execute(conn)
        .await?;
    Ok(diesel::update(api_keys::table)
        .filter(api_keys::user_id.eq(user.0))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?)
}

/// Every link still live for `user` stops working.
async fn expire_links(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), ServiceError> {
    diesel::update(account_tokens::table)
        .filter(account_tokens::user_id.eq(user.0))
        .filter(account_tokens::used_at.is_null())
        .set(account_tokens::used_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// A new credentials epoch: device cookies issued before stop counting.
async fn bump_epoch(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), ServiceError> {
    diesel::update(users::table.find(user.0))
        .set(users::credentials_epoch.eq(users::credentials_epoch + 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes the signed-in user's password; their other sessions end, and
/// browsers known before are strangers again. Answers the account's address
/// (this browser becomes a known device of it anew).
pub async fn change_password(
    services: &Services,
    limits: &dyn SignInLimits,
    actor: &Actor,
    meta: &RequestMeta,
    request: PasswordChange,
) -> Result<String, ServiceError> {
    let user = actor.require_session()?;
    let mut conn = services.conn().await?;
    let found = account(&mut conn, user).await?;
    if found.password_hash.is_none() {
        return Err(ServiceError::invalid(
            "current_password",
            "this account has no password yet: set one with a reset link (Forgot password on \
             the sign-in page)",
        ));
    }
    let email = found.email.clone().unwrap_or_default();
    password::check(&request.new_password, &[&email, &found.name]).map_err(
        |error| match error {
            ServiceError::Invalid { message, .. } => ServiceError::invalid("new_password", message),
            other => other,
        },
    )?;
    confirm_password(
        limits,
        actor,
        meta,
        "current_password",
        &found,
        request.current_password,
    )
    .await?;
    let hash = password::hash(request.new_password).await?;
    let (meta, actor, name) = (meta.clone(), actor.clone(), found.name);
    let address = email.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        diesel::update(users::table.find(user.0))
            .set((
                users::password_hash.eq(&hash),
                users::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        let ended = end_sessions(conn, user, actor.session_id()).await?;
        // Links sent before (a reset, an address change) are no longer
        // wanted, and browsers known before are strangers again.
        expire_links(conn, user).await?;
        bump_epoch(conn, user).await?;
        if !email.is_empty() {
            mail::enqueue(conn, &templates::password_changed(&email, &name)).await?;
        }
        audited(
            conn,
            action::PASSWORD_CHANGED,
            &actor,
            user,
            &meta,
            json!({ "sessions_ended": ended }),
        )
        .await
    })
    .await?;
    Ok(address)
}

/// Starts moving the signed-in user to another address: a link goes there,
/// and the account keeps its address until it is followed.
pub async fn change_email(
    services: &Services,
    limits: &dyn SignInLimits,
    actor: &Actor,
    meta: &RequestMeta,
    request: EmailChange,
) -> Result<MailQueued, ServiceError> {
    let user = actor.require_session()?;
    let new_email = accounts::normalize_email(&request.new_email)
        .map_err(|_| ServiceError::invalid("new_email", "must look like name@example.com"))?;
    let mut conn = services.conn().await?;
    let found = account(&mut conn, user).await?;
    if found.email.as_deref() == Some(new_email.as_str()) {
        return Err(ServiceError::invalid(
            "new_email",
            "is already your address",
        ));
    }
    if found.password_hash.is_some() {
        let given = request.password.unwrap_or_default();
        confirm_password(limits, actor, meta, "password", &found, given).await?;
    }
    limits.mail_from(&meta.ip)?;
    limits.mail_to(&new_email)?;
    // An address another account has gets no mail, and the answer does not
    // say so (it would tell who has an account here); the link could not
    // move the account there anyway.
    let taken = accounts::email_taken(&mut conn, &new_email).await?;
    let (meta, actor) = (meta.clone(), actor.clone());
    let to = new_email.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        if !taken {
            send_verification(conn, services, user, &new_email, true).await?;
        }
        audited(
            conn,
            action::EMAIL_CHANGE_REQUESTED,
            &actor,
            user,
            &meta,
            json!({ "new_email": new_email, "taken": taken }),
        )
        .await
    })
    .await?;
    Ok(MailQueued { to })
}

/// The address the signed-in user is moving to, while its link is live.
pub(super) async fn pending_email(
    conn: &mut AsyncPgConnection,
    user: UserId,
    current: Option<&str>,
) -> Result<Option<String>, ServiceError> {
    let pending: Option<String> = account_tokens::table
        .filter(account_tokens::user_id.eq(user.0))
        .filter(account_tokens::purpose.eq(VERIFY))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(Utc::now()))
        .order(account_tokens::created_at.desc())
        .select(account_tokens::email)
        .first(conn)
        .await
        .optional()?;
    Ok(pending.filter(|email| Some(email.as_str()) != current))
}

/// Deletes tokens that expired more than a week ago (the server's hourly
/// purge); answers how many.
pub async fn purge(services: &Services) -> Result<usize, ServiceError> {
    let mut conn = services.conn().await?;
    Ok(diesel::delete(
        account_tokens::table
            .filter(account_tokens::expires_at.lt(Utc::now() - TimeDelta::days(7))),
    )
    .execute(&mut conn)
    .await?)
}
