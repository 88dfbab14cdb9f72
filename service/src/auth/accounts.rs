//! Signing up, in and out, and `me`. A new account comes with its personal
//! workspace; every step of it is audited.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Entry, action};
use super::sessions::{self, NewSession};
use super::{Actor, RequestMeta, password};
use crate::schema::{users, workspace_members, workspaces};
use crate::{ServiceError, Services};
use types::account::{
    LoginRequest, Me, Providers, Role, SignupRequest, UserProfile, WorkspaceSummary,
};
use types::{UserId, WorkspaceId};

const MAX_EMAIL_CHARS: usize = 254;
const MAX_NAME_CHARS: usize = 80;

/// Trims and lower-cases an address and checks its shape (the mailbox
/// itself is proven later, by a link or by GitHub).
pub fn normalize_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim().to_lowercase();
    let invalid = |why: &str| ServiceError::invalid("email", why.to_owned());
    if email.is_empty() {
        return Err(invalid("is required"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid("must be at most 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("must look like name@example.com"));
    };
    let well_formed = !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    // What mail is sent to must be this mailbox and no other: an address
    // alone (RFC 5322 addr-spec), never `name <other@example.com>`.
    if !well_formed || email.parse::<lettre::Address>().is_err() {
        return Err(invalid("must look like name@example.com"));
    }
    Ok(email)
}

fn normalize_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(
            "name",
            "must be at most 80 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A handle from the email's local part: `[a-z0-9-]`, at most 39 characters.
fn handle_base(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let mut handle = String::new();
    for c in local.chars() {
        match c {
            'a'..='z' | '0'..='9' => handle.push(c),
            _ if !handle.ends_with('-') && !handle.is_empty() => handle.push('-'),
            _ => {}
        }
    }
    let handle: String = handle.trim_matches('-').chars().take(30).collect();
    let handle = handle.trim_end_matches('-').to_owned();
    if handle.is_empty() {
        "user".to_owned()
    } else {
        handle
    }
}

/// Creates the user and its personal workspace, choosing a free handle.
pub(super) async fn insert_user(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    password_hash: Option<&str>,
    email_verified: bool,
    billing: crate::ledger::Billing,
) -> Result<UserId, ServiceError> {
    let base = handle_base(email);
    for attempt in 0..8 {
        let handle = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6])
        };
        let taken: bool = diesel::select(diesel::dsl::exists(
            users::table.filter(users::handle.eq(&handle)),
        ))
        .get_result(conn)
        .await?;
        let slug_taken: bool = diesel::select(diesel::dsl::exists(
            workspaces::table.filter(workspaces::slug.eq(&handle)),
        ))
        .get_result(conn)
        .await?;
        if taken || slug_taken {
            continue;
        }
        let id: Uuid = diesel::insert_into(users::table)
            .values((
                users::handle.eq(&handle),
                users::display_name.eq(name),
                users::email.eq(email),
                users::password_hash.eq(password_hash),
                users::email_verified.eq(email_verified),
            ))
            .returning(users::id)
            .get_result(conn)
            .await?;
        let workspace: Uuid = diesel::insert_into(workspaces::table)
            .values((
                workspaces::kind.eq("personal"),
                workspaces::slug.eq(&handle),
                workspaces::name.eq(name),
                workspaces::personal_user_id.eq(id),
            ))
            .returning(workspaces::id)
            .get_result(conn)
            .await?;
        crate::ledger::grant_starter(conn, billing, workspace).await?;
        diesel::insert_into(workspace_members::table)
            .values((
                workspace_members::workspace_id.eq(workspace),
                workspace_members::user_id.eq(id),
                workspace_members::role.eq(Role::Owner.as_str()),
            ))
            .execute(conn)
            .await?;
        return Ok(UserId(id));
    }
    Err(ServiceError::Internal(anyhow::anyhow!(
        "no free handle for {base} after 8 attempts"
    )))
}

pub(super) async fn email_taken(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<bool, ServiceError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.to_owned()),
        ),
    ))
    .get_result(conn)
    .await?)
}

/// The credentials epoch of the account with `email`, if one has it
/// (what device cookies are bound to, with the address).
pub async fn credentials_epoch(
    services: &Services,
    email: &str,
) -> Result<Option<i32>, ServiceError> {
    let mut conn = services.conn().await?;
    Ok(users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.trim().to_lowercase()),
        )
        .select(users::credentials_epoch)
        .first(&mut conn)
        .await
        .optional()?)
}

/// Creates an account with a password and signs it in.
pub async fn signup(
    services: &Services,
    request: SignupRequest,
    meta: &RequestMeta,
) -> Result<(Me, NewSession), ServiceError> {
    let email = normalize_email(&request.email)?;
    let name = normalize_name(&request.name)?;
    password::check(&request.password, &[&email, &name])?;
    let hash = password::hash(request.password).await?;

    let mut conn = services.conn().await?;
    let policy = services.sessions;
    let billing = services.billing;
    let meta = meta.clone();
    let (user, session) = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            if email_taken(conn, &email).await? {
                return Err(ServiceError::Conflict {
                    field: "email",
                    message: "an account with this email already exists; sign in instead".into(),
                });
            }
            let user = insert_user(conn, &email, &name, Some(&hash), false, billing).await?;
            super::recovery::send_verification(conn, services, user, &email, false).await?;
            let session = sessions::create(conn, user, &meta, policy).await?;
            audit::record(
                conn,
                Entry {
                    action: action::SIGNUP,
                    user: Some(user),
                    actor: &Actor::Anonymous,
                    workspace: None,
                    target_type: "user",
                    target_id: user.to_string(),
                    meta: &meta,
                    details: json!({ "method": "password" }),
                },
            )
            .await?;
            Ok((user, session))
        })
        .await
        .map_err(unique_email_race)?;
    let me = load_me(&mut conn, user, Some(session.csrf_token.clone())).await?;
    Ok((me, session))
}

/// Two sign-ups with one email at once: the unique index decides.
pub(super) fn unique_email_race(error: ServiceError) -> ServiceError {
    match &error {
        ServiceError::Internal(cause) if cause.to_string().contains("users_email_key") => {
            ServiceError::Conflict {
                field: "email",
                message: "an account with this email already exists; sign in instead".into(),
            }
        }
        _ => error,
    }
}

/// Checks a password and starts a session. Wrong email and wrong password
/// get the same answer, after the same work.
pub async fn login(
    services: &Services,
    request: LoginRequest,
    meta: &RequestMeta,
) -> Result<(Me, NewSession), ServiceError> {
    let email = request.email.trim().to_lowercase();
    let mut conn = services.conn().await?;
    let account: Option<(Uuid, Option<String>)> = users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.clone()),
        )
        .select((users::id, users::password_hash))
        .first(&mut conn)
        .await
        .optional()?;
    let (user, stored) = match account {
        Some((id, hash)) => (Some(UserId(id)), hash),
        None => (None, None),
    };
    let password_ok = request.password.chars().count() <= password::MAX_CHARS
        && password::verify(request.password, stored).await;
    let Some(user) = user.filter(|_| password_ok) else {
        audit::record(
            &mut conn,
            Entry {
                action: action::LOGIN_FAILED,
                user,
                actor: &Actor::Anonymous,
                workspace: None,
                target_type: "user",
                target_id: user.map(|u| u.to_string()).unwrap_or_default(),
                meta,
                details: json!({ "email": email.chars().take(254).collect::<String>() }),
            },
        )
        .await?;
        return Err(ServiceError::InvalidCredentials);
    };
    let session = sessions::create(&mut conn, user, meta, services.sessions).await?;
    audit::record(
        &mut conn,
        Entry {
            action: action::LOGIN,
            user: Some(user),
            actor: &Actor::Anonymous,
            workspace: None,
            target_type: "session",
            target_id: session.id.to_string(),
            meta,
            details: json!({ "method": "password" }),
        },
    )
    .await?;
    let me = load_me(&mut conn, user, Some(session.csrf_token.clone())).await?;
    Ok((me, session))
}

/// Ends the caller's session.
pub async fn logout(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    actor.require_session()?;
    let Some(session) = actor.session_id() else {
        return Err(ServiceError::Unauthenticated);
    };
    let mut conn = services.conn().await?;
    sessions::revoke(&mut conn, session).await?;
    audit::record(
        &mut conn,
        Entry {
            action: action::LOGOUT,
            user: None,
            actor,
            workspace: None,
            target_type: "session",
            target_id: session.to_string(),
            meta,
            details: json!({}),
        },
    )
    .await
}

/// Which ways of signing in are on: passwords always, GitHub when configured.
pub fn providers(services: &Services) -> Providers {
    Providers {
        password: true,
        github: services.github.is_some(),
    }
}

pub async fn me(services: &Services, actor: &Actor) -> Result<Me, ServiceError> {
    let user = actor.require_user()?;
    let csrf = match actor {
        Actor::Session { csrf_token, .. } => Some(csrf_token.clone()),
        Actor::Anonymous | Actor::ApiKey { .. } | Actor::Trigger { .. } | Actor::Visitor { .. } => {
            None
        }
    };
    let mut conn = services.conn().await?;
    load_me(&mut conn, user, csrf).await
}

type UserRow = (
    Uuid,
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<i64>,
    DateTime<Utc>,
);

pub(super) async fn load_me(
    conn: &mut AsyncPgConnection,
    user: UserId,
    csrf_token: Option<String>,
) -> Result<Me, ServiceError> {
    let (id, handle, display_name, email, email_verified, password_hash, github_id, created_at): UserRow =
        users::table
            .find(user.0)
            .select((
                users::id,
                users::handle,
                users::display_name,
                users::email,
                users::email_verified,
                users::password_hash,
                users::github_id,
                users::created_at,
            ))
            .first(conn)
            .await?;
    let pending_email = super::recovery::pending_email(conn, user, email.as_deref()).await?;
    let rows: Vec<(Uuid, String, String, String, String)> = workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspace_members::user_id.eq(user.0))
        .order((workspaces::kind.desc(), workspaces::name.asc()))
        .select((
            workspaces::id,
            workspaces::slug,
            workspaces::name,
            workspaces::kind,
            workspace_members::role,
        ))
        .load(conn)
        .await?;
    let workspaces = rows
        .into_iter()
        .map(|(id, slug, name, kind, role)| {
            Ok(WorkspaceSummary {
                id: WorkspaceId(id),
                slug,
                name,
                personal: kind == "personal",
                role: Role::parse(&role).ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("unknown role {role:?} in the database"))
                })?,
            })
        })
        .collect::<Result<_, ServiceError>>()?;
    Ok(Me {
        user: UserProfile {
            id: UserId(id),
            handle,
            display_name,
            email,
            email_verified,
            pending_email,
            has_password: password_hash.is_some(),
            github_linked: github_id.is_some(),
            created_at,
        },
        workspaces,
        csrf_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").expect("valid"),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "x<victim@evil.example>",
            "\"ada\"<ada@example.com>",
        ] {
            let error = normalize_email(bad).expect_err(bad);
            assert!(
                matches!(error, ServiceError::Invalid { field: "email", .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn handles_come_from_the_local_part() {
        assert_eq!(handle_base("ada.lovelace@example.com"), "ada-lovelace");
        assert_eq!(handle_base("__x__@example.com"), "x");
        assert_eq!(handle_base("+++@example.com"), "user");
        assert!(handle_base(&format!("{}@example.com", "a".repeat(60))).len() <= 30);
    }
}
