//! Signing a device in (RFC 8628's device authorization grant): a command
//! line asks for a sign-in and shows a short user code; its person opens
//! the approval page in a browser where they are signed in, checks the
//! code, picks the workspace and the scopes, and approves; the command
//! line's next poll takes a new API key, once.
//!
//! The device code is 32 random bytes, kept as a digest. The user code is
//! eight consonants (20⁸ ≈ 2.6·10¹⁰ codes) living ten minutes, and a
//! signed-in person (and an address) may look up only so many an hour
//! (the door's limits), so guessing someone else's is hopeless. Only a
//! pending grant, or one the person decided, is shown. The approval page names what the device
//! calls itself and the address it asked from.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::api_keys::{self, NewKey};
use super::audit::{self, Entry};
use super::door::BrowserDoor;
use super::{Actor, RequestMeta, tokens};
use crate::schema::device_grants;
use crate::{ServiceError, Services, access};
use types::account::{
    DecideDevice, DevicePoll, DevicePollStatus, DeviceRequest, DeviceSignIn, Scope,
    StartDeviceSignIn,
};
use types::{UserId, WorkspaceId};

/// How long the codes live.
const LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// The first wait between polls, what a too-fast poll adds, and the most.
const INTERVAL: i32 = 5;
const SLOW_DOWN: i32 = 5;
const MAX_INTERVAL: i32 = 60;
/// How long a key made by a device sign-in lives.
const KEY_DAYS: i64 = 90;
/// The user code's letters: consonants without look-alikes of digits, as
/// RFC 8628 § 6.1 suggests.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

#[derive(Queryable, Selectable)]
#[diesel(table_name = device_grants)]
struct GrantRow {
    id: Uuid,
    user_code: String,
    client_name: String,
    scopes: Vec<String>,
    requested_ip: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    interval_s: i32,
    polled_at: Option<DateTime<Utc>>,
    status: String,
    user_id: Option<Uuid>,
    workspace_id: Option<Uuid>,
    granted_scopes: Option<Vec<String>>,
}

fn scopes(names: &[String]) -> Vec<Scope> {
    names.iter().filter_map(|name| Scope::parse(name)).collect()
}

impl GrantRow {
    /// As the person at `meta` sees it.
    fn request(self, meta: &RequestMeta) -> DeviceRequest {
        DeviceRequest {
            user_code: shown(&self.user_code),
            scopes: scopes(&self.scopes),
            client_name: self.client_name,
            from_your_address: !self.requested_ip.is_empty() && self.requested_ip == meta.ip,
            requested_from: self.requested_ip,
            created_at: self.created_at,
            expires_at: self.expires_at,
            status: self.status,
        }
    }
}

/// `BCDFGHJK` as people read it: `BCDF-GHJK`.
fn shown(code: &str) -> String {
    let (head, tail) = code.split_at(code.len().min(4));
    format!("{head}-{tail}")
}

/// A typed user code as stored: upper case, without dashes and spaces;
/// `None` when it cannot be one.
fn normalised(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 8 && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// Control characters, and the invisible ones that reorder or hide text
/// (bidirectional overrides, zero-width characters, soft hyphens): a name
/// shown for approval must read as it is.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{FEFF}')
        || ('\u{200B}'..='\u{200F}').contains(&c)
        || ('\u{2028}'..='\u{202E}').contains(&c)
        || ('\u{2060}'..='\u{206F}').contains(&c)
        || ('\u{FFF0}'..='\u{FFFF}').contains(&c)
}

fn user_code() -> Result<String, ServiceError> {
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        let mut bytes = [0_u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!("the OS random source failed: {e}"))
        })?;
        // 240 = 12 × 20: rejecting the rest keeps every letter equally likely.
        for byte in bytes.into_iter().filter(|byte| *byte < 240) {
            if code.len() < 8 {
                code.push(char::from(ALPHABET[usize::from(byte % 20)]));
            }
        }
    }
    Ok(code)
}

/// Starts a device sign-in.
pub async fn start(
    services: &Services,
    request: StartDeviceSignIn,
    meta: &RequestMeta,
) -> Result<DeviceSignIn, ServiceError> {
    let name = request.client_name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(hidden) {
        return Err(ServiceError::invalid(
            "client_name",
            "must be 1 to 60 printable characters",
        ));
    }
    let mut wanted = request.scopes;
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(ServiceError::invalid("scopes", "name at least one scope"));
    }
    let wanted: Vec<&str> = wanted.iter().map(|scope| scope.as_str()).collect();
    let device_code = format!("adkd_{}", tokens::random(32)?);
    let mut conn = services.conn().await?;
    // Old grants go as new ones come (the index on expires_at keeps it cheap).
    diesel::delete(device_grants::table)
        .filter(device_grants::expires_at.lt(Utc::now() - TimeDelta::hours(1)))
        .execute(&mut conn)
        .await?;
    for _ in 0..5 {
        let code = user_code()?;
        let inserted = diesel::insert_into(device_grants::table)
            .values((
                device_grants::device_code_hash.eq(tokens::digest(&device_code)),
                device_grants::user_code.eq(&code),
                device_grants::client_name.eq(name),
                device_grants::scopes.eq(&wanted),
                device_grants::requested_ip.eq(&meta.ip),
                device_grants::expires_at.eq(Utc::now() + LIFETIME),
                device_grants::interval_s.eq(INTERVAL),
            ))
            .on_conflict(device_grants::user_code)
            .do_nothing()
            .execute(&mut conn)
            .await?;
        if inserted == 1 {
            let page = format!("{}/device", services.public_url.trim_end_matches('/'));
            return Ok(DeviceSignIn {
                device_code,
                verification_uri_complete: format!("{page}?code={}", shown(&code)),
                verification_uri: page,
                user_code: shown(&code),
                expires_in: u32::try_from(LIFETIME.num_seconds()).unwrap_or(600),
                interval: INTERVAL.unsigned_abs(),
            });
        }
    }
    Err(ServiceError::Internal(anyhow::anyhow!(
        "no free user code after five tries"
    )))
}

const GONE: ServiceError = ServiceError::NotFound {
    what: "device sign-in (it expired or was used; start again)",
};

/// The device's poll: pending, or approved with its new key (once).
pub async fn poll(
    services: &Services,
    device_code: &str,
    meta: &RequestMeta,
) -> Result<DevicePoll, ServiceError> {
    if !device_code.starts_with("adkd_") || device_code.len() > 100 {
        return Err(GONE);
    }
    let digest = tokens::digest(device_code);
    let mut conn = services.conn().await?;
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let grant: GrantRow = device_grants::table
            .filter(device_grants::device_code_hash.eq(&digest))
            .select(GrantRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(GONE)?;
        let now = Utc::now();
        if grant.expires_at <= now || grant.status == "used" {
            return Err(GONE);
        }
        match grant.status.as_str() {
            "denied" => Err(ServiceError::Forbidden(
                "the sign-in was denied in the browser".to_owned(),
            )),
            "approved" => approved(conn, grant, &meta).await,
            _ => {
                let interval = i64::from(grant.interval_s);
                let early = grant
                    .polled_at
                    .is_some_and(|at| now - at < TimeDelta::seconds(interval));
                let next = if early {
                    (grant.interval_s + SLOW_DOWN).min(MAX_INTERVAL)
                } else {
                    grant.interval_s
                };
                diesel::update(device_grants::table.find(grant.id))
                    .set((
                        device_grants::polled_at.eq(now),
                        device_grants::interval_s.eq(next),
                    ))
                    .execute(conn)
                    .await?;
                // A poll too soon is RFC 8628's `slow_down`: the wait it
                // is told grows by five seconds.
                Ok(DevicePoll {
                    status: DevicePollStatus::Pending,
                    interval: next.unsigned_abs(),
                    key: None,
                })
            }
        }
    })
    .await
}

/// Turns an approved grant into its key, and marks it used.
async fn approved(
    conn: &mut AsyncPgConnection,
    grant: GrantRow,
    meta: &RequestMeta,
) -> Result<DevicePoll, ServiceError> {
    let (Some(user), Some(workspace), Some(granted)) =
        (grant.user_id, grant.workspace_id, &grant.granted_scopes)
    else {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "approved device grant {} lacks its approval",
            grant.id
        )));
    };
    diesel::update(device_grants::table.find(grant.id))
        .set(device_grants::status.eq("used"))
        .execute(conn)
        .await?;
    // Whoever approved may have left the workspace since.
    if access::role_of(conn, UserId(user), WorkspaceId(workspace))
        .await?
        .is_none()
    {
        return Err(ServiceError::Forbidden(
            "the sign-in's workspace is no longer the approver's".to_owned(),
        ));
    }
    let name: String = format!(
        "{} (device sign-in from {})",
        grant.client_name, grant.requested_ip
    )
    .chars()
    .take(80)
    .collect();
    let new = NewKey {
        user: UserId(user),
        workspace: WorkspaceId(workspace),
        name,
        scopes: scopes(granted),
        expires_at: Some(Utc::now() + TimeDelta::days(KEY_DAYS)),
        spend_cap_credits: None,
        made_by: None,
    };
    let details = json!({ "via": "device_sign_in", "device_grant": grant.id });
    let key = api_keys::insert(conn, new, &Actor::Anonymous, meta, details).await?;
    Ok(DevicePoll {
        status: DevicePollStatus::Approved,
        interval: grant.interval_s.unsigned_abs(),
        key: Some(key),
    })
}

/// The grant `code` names for the signed-in `user` (locked for update in a
/// transaction): a live pending one, or one they decided. The caller has
/// counted the lookup against the limits (`BrowserDoor::device_lookup`)
/// first, so a burst in parallel is held like a sequence.
async fn find(
    conn: &mut AsyncPgConnection,
    user: UserId,
    code: &str,
) -> Result<GrantRow, ServiceError> {
    let found = match normalised(code) {
        Some(code) => device_grants::table
            .filter(device_grants::user_code.eq(code))
            .filter(device_grants::expires_at.gt(Utc::now()))
            .select(GrantRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?,
        None => None,
    };
    found
        .filter(|grant| grant.status == "pending" || grant.user_id == Some(user.0))
        .ok_or(ServiceError::NotFound {
            what: "device code (check it, or start again on the device)",
        })
}

/// A device sign-in as the signed-in person about to decide sees it.
pub async fn show(
    services: &Services,
    door: &BrowserDoor,
    actor: &Actor,
    code: &str,
    meta: &RequestMeta,
) -> Result<DeviceRequest, ServiceError> {
    let user = actor.require_session()?;
    door.device_lookup(user, &meta.ip)?;
    let mut conn = services.conn().await?;
    crate::auth::recovery::require_verified(&mut conn, user).await?;
    Ok(find(&mut conn, user, code).await?.request(meta))
}

/// Approves or denies a pending device sign-in.
pub async fn decide(
    services: &Services,
    door: &BrowserDoor,
    actor: &Actor,
    decision: DecideDevice,
    meta: &RequestMeta,
) -> Result<DeviceRequest, ServiceError> {
    let user = actor.require_session()?;
    door.device_lookup(user, &meta.ip)?;
    let mut conn = services.conn().await?;
    crate::auth::recovery::require_verified(&mut conn, user).await?;
    let workspace = match decision.workspace {
        Some(workspace) => {
            access::member(&mut conn, actor, workspace).await?;
            workspace
        }
        None => access::personal_workspace(&mut conn, user).await?,
    };
    let actor = actor.clone();
    let meta = meta.clone();
    let keys_link = format!(
        "{}/settings/keys",
        services.public_url.trim_end_matches('/')
    );
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let grant = find(conn, user, &decision.user_code).await?;
        if grant.status != "pending" {
            return Err(ServiceError::Conflict {
                field: "user_code",
                message: format!("you decided this sign-in already ({})", grant.status),
            });
        }
        let asked = scopes(&grant.scopes);
        let mut granted = decision.scopes.clone();
        granted.sort();
        granted.dedup();
        if decision.approve {
            if granted.is_empty() {
                return Err(ServiceError::invalid("scopes", "name at least one scope"));
            }
            if let Some(scope) = granted.iter().find(|scope| !asked.contains(scope)) {
                return Err(ServiceError::invalid(
                    "scopes",
                    format!("the device did not ask for {}", scope.as_str()),
                ));
            }
        }
        let granted: Vec<&str> = granted.iter().map(|scope| scope.as_str()).collect();
        let status = if decision.approve {
            "approved"
        } else {
            "denied"
        };
        let row: GrantRow = diesel::update(device_grants::table.find(grant.id))
            .set((
                device_grants::status.eq(status),
                device_grants::decided_at.eq(Utc::now()),
                device_grants::user_id.eq(user.0),
                device_grants::workspace_id.eq(decision.approve.then_some(workspace.0)),
                device_grants::granted_scopes.eq(decision.approve.then_some(&granted)),
            ))
            .returning(GrantRow::as_returning())
            .get_result(conn)
            .await?;
        if decision.approve {
            notify(conn, user, &grant, &granted, &keys_link).await?;
        }
        audit::record(
            conn,
            Entry {
                action: if decision.approve {
                    audit::action::DEVICE_APPROVED
                } else {
                    audit::action::DEVICE_DENIED
                },
                user: None,
                actor: &actor,
                workspace: decision.approve.then_some(workspace),
                target_type: "device_sign_in",
                target_id: grant.id.to_string(),
                meta: &meta,
                details: json!({
                    "client_name": grant.client_name,
                    "requested_from": grant.requested_ip,
                    "scopes": granted,
                }),
            },
        )
        .await?;
        Ok(row.request(&meta))
    })
    .await
}

/// Mails the approver that a device now holds a key (queued with the
/// approval, so both happen or neither).
async fn notify(
    conn: &mut AsyncPgConnection,
    user: UserId,
    grant: &GrantRow,
    granted: &[&str],
    keys_link: &str,
) -> Result<(), ServiceError> {
    use crate::schema::users;
    let (email, name): (Option<String>, String) = users::table
        .find(user.0)
        .select((users::email, users::display_name))
        .first(conn)
        .await?;
    if let Some(email) = email {
        let mail = crate::mail::templates::device_signed_in(
            &email,
            &name,
            &grant.client_name,
            &grant.requested_ip,
            &granted.join(", "),
            keys_link,
        );
        crate::mail::enqueue(conn, &mail).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_consonants_shown_with_a_dash() {
        let a = user_code().expect("code");
        let b = user_code().expect("code");
        assert_ne!(a, b);
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|byte| ALPHABET.contains(&byte)), "{a}");
        assert_eq!(shown("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn typed_codes_are_read_kindly_and_strictly() {
        assert_eq!(normalised("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalised(" BCDF GHJK ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalised("BCDF-GHJ"), None);
        assert_eq!(normalised("ABCD-EFGH"), None, "vowels are never issued");
        assert_eq!(normalised("BCDF-GHJK-L"), None);
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_refused() {
        assert!(hidden('\u{202E}'));
        assert!(hidden('\u{200B}'));
        assert!(hidden('\n'));
        assert!(!hidden('é') && !hidden('’') && !hidden(' '));
    }
}
