//! Sign-in with GitHub: the authorization code flow with PKCE (S256) and a
//! single-use `state`, both kept server-side for the browser that started
//! the flow (RFC 9700). The provider's URLs are configuration, so tests run
//! the real client against a local stand-in.
//!
//! An account is found by GitHub id, else linked by the primary verified
//! email when the account has verified that address too, else created. An
//! account whose address is not verified is never linked this way (whoever
//! signed up with an address they do not read would own the GitHub user's
//! account): the sign-in is refused, and the owner verifies the address or
//! links GitHub from settings while signed in.

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _, TokenUrl,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Entry, action};
use super::sessions::{self, NewSession};
use super::{Actor, RequestMeta, tokens};
use crate::schema::{oauth_flows, users};
use crate::{ServiceError, Services};
use types::UserId;

const FLOW_LIFETIME: TimeDelta = TimeDelta::minutes(10);
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The account data we ask GitHub for: profile and email addresses.
const SCOPES: [&str; 2] = ["read:user", "user:email"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubConfig {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub api_url: String,
    /// Exactly what is registered with GitHub: `<public url>/auth/github/callback`.
    pub redirect_url: String,
}

/// Why a GitHub sign-in did not work, as the sign-in page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No flow for this browser: never started, already used, or expired
    /// (so no PKCE verifier either).
    FlowMissing,
    StateMismatch,
    Denied,
    ProviderError,
    EmailNotVerified,
    /// An account has the address but has not verified it.
    AccountUnverified,
    AlreadyLinked,
    Disabled,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Self::FlowMissing => "github_flow_missing",
            Self::StateMismatch => "github_state_mismatch",
            Self::Denied => "github_denied",
            Self::ProviderError => "github_error",
            Self::EmailNotVerified => "github_email_unverified",
            Self::AccountUnverified => "github_account_unverified",
            Self::AlreadyLinked => "github_already_linked",
            Self::Disabled => "github_disabled",
        }
    }
}

pub struct Started {
    /// Goes into the flow cookie, nowhere else.
    pub browser_token: String,
    pub authorize_url: String,
}

pub enum Finished {
    SignedIn {
        session: NewSession,
        return_to: String,
    },
    Linked {
        return_to: String,
    },
}

/// What GitHub sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Where to go after sign-in: a path of this site, never another origin.
pub fn safe_return_to(requested: Option<&str>) -> String {
    match requested {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 512
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn client(
    config: &GithubConfig,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    ServiceError,
> {
    let bad = |what: &str, e: oauth2::url::ParseError| {
        ServiceError::Internal(anyhow::anyhow!("the GitHub {what} URL is invalid: {e}"))
    };
    Ok(BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(config.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(config.authorize_url.clone()).map_err(|e| bad("authorize", e))?)
        .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(|e| bad("token", e))?)
        .set_redirect_uri(
            RedirectUrl::new(config.redirect_url.clone()).map_err(|e| bad("redirect", e))?,
        ))
}

fn http() -> Result<oauth2::reqwest::Client, ServiceError> {
    oauth2::reqwest::Client::builder()
        // Following redirects would open the client to SSRF.
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .user_agent("agentdeck")
        .build()
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("building the HTTP client: {e}")))
}

/// Starts a flow: stores state and verifier for this browser and returns
/// the provider URL to send it to. With `link`, the signed-in user links
/// GitHub to the account instead of signing in.
pub async fn start(
    services: &Services,
    actor: &Actor,
    return_to: Option<&str>,
    link: bool,
) -> Result<Started, Failure> {
    let config = services.github.as_ref().ok_or(Failure::Disabled)?;
    let link_user = if link {
        Some(actor.require_session().map_err(|_| Failure::FlowMissing)?)
    } else {
        None
    };
    let link_session = link_user.and(actor.session_id());
    let started = async {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = client(config)?;
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge);
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, state) = request.url();
        let browser_token = tokens::random(32)?;
        let mut conn = services.conn().await?;
        diesel::insert_into(oauth_flows::table)
            .values((
                oauth_flows::browser_hash.eq(tokens::digest(&browser_token)),
                oauth_flows::provider.eq("github"),
                oauth_flows::state.eq(state.secret()),
                oauth_flows::pkce_verifier.eq(verifier.secret()),
                oauth_flows::return_to.eq(safe_return_to(return_to)),
                oauth_flows::link_user_id.eq(link_user.map(|u| u.0)),
                oauth_flows::link_session_id.eq(link_session.map(|s| s.0)),
                oauth_flows::expires_at.eq(Utc::now() + FLOW_LIFETIME),
            ))
            .execute(&mut conn)
            .await?;
        Ok::<_, ServiceError>(Started {
            browser_token,
            authorize_url: url.to_string(),
        })
    };
    started.await.map_err(|error| {
        tracing::error!(%error, "starting a GitHub sign-in");
        Failure::ProviderError
    })
}

#[derive(Deserialize)]
struct GithubUser {
    id: i64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// A claimed flow: state, PKCE verifier, where to return, and for a link
/// flow the user and the session that started it.
type FlowRow = (String, String, String, Option<Uuid>, Option<Uuid>);

/// Completes a flow from the callback. Every failure leaves no session.
pub async fn finish(
    services: &Services,
    browser_token: Option<&str>,
    callback: Callback,
    meta: &RequestMeta,
) -> Result<Finished, Failure> {
    let config = services.github.as_ref().ok_or(Failure::Disabled)?;
    let internal = |error: ServiceError| {
        tracing::error!(%error, "finishing a GitHub sign-in");
        Failure::ProviderError
    };
    let mut conn = services.conn().await.map_err(internal)?;
    // Claim the flow first: whatever happens next, it cannot be replayed.
    let flow: Option<FlowRow> = match browser_token {
        Some(token) => diesel::update(oauth_flows::table)
            .filter(oauth_flows::browser_hash.eq(tokens::digest(token)))
            .filter(oauth_flows::used_at.is_null())
            .filter(oauth_flows::expires_at.gt(Utc::now()))
            .set(oauth_flows::used_at.eq(Utc::now()))
            .returning((
                oauth_flows::state,
                oauth_flows::pkce_verifier,
                oauth_flows::return_to,
                oauth_flows::link_user_id,
                oauth_flows::link_session_id,
            ))
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(|e| internal(e.into()))?,
        None => None,
    };
    let (state, verifier, return_to, link_user, link_session) = flow.ok_or(Failure::FlowMissing)?;
    // A link flow needs the session that started it, still alive: a flow
    // begun with a session that has since ended (signed out, or every
    // session ended by a reset) links nothing.
    if link_user.is_some() {
        let live = match link_session {
            Some(session) => diesel::select(diesel::dsl::exists(
                crate::schema::sessions::table
                    .find(session)
                    .filter(crate::schema::sessions::revoked_at.is_null())
                    .filter(crate::schema::sessions::expires_at.gt(Utc::now())),
            ))
            .get_result::<bool>(&mut conn)
            .await
            .map_err(|e| internal(e.into()))?,
            None => false,
        };
        if !live {
            return Err(Failure::FlowMissing);
        }
    }
    if let Some(error) = &callback.error {
        return Err(if error == "access_denied" {
            Failure::Denied
        } else {
            Failure::ProviderError
        });
    }
    let sent_state = callback.state.unwrap_or_default();
    let states_match = sent_state.len() == state.len()
        && sent_state
            .bytes()
            .zip(state.bytes())
            .fold(0_u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !states_match {
        return Err(Failure::StateMismatch);
    }
    let code = callback
        .code
        .filter(|c| !c.is_empty())
        .ok_or(Failure::ProviderError)?;

    let http = http().map_err(internal)?;
    let token = client(config)
        .map_err(internal)?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "GitHub refused the code exchange");
            Failure::ProviderError
        })?;
    let access = token.access_token().secret().to_owned();
    let api = config.api_url.trim_end_matches('/');
    let fetch = |path: &'static str| {
        let request = http
            .get(format!("{api}{path}"))
            .bearer_auth(&access)
            .header("accept", "application/vnd.github+json");
        async move {
            let response = request.send().await.map_err(|error| {
                tracing::warn!(%error, path, "calling the GitHub API");
                Failure::ProviderError
            })?;
            if !response.status().is_success() {
                tracing::warn!(status = %response.status(), path, "the GitHub API refused");
                return Err(Failure::ProviderError);
            }
            response.bytes().await.map_err(|_| Failure::ProviderError)
        }
    };
    let unexpected = |error: serde_json::Error| {
        tracing::warn!(%error, "unexpected answer from the GitHub API");
        Failure::ProviderError
    };
    let profile: GithubUser = serde_json::from_slice(&fetch("/user").await?).map_err(unexpected)?;
    let emails: Vec<GithubEmail> =
        serde_json::from_slice(&fetch("/user/emails").await?).map_err(unexpected)?;
    let email = emails
        .into_iter()
        .find(|e| e.primary && e.verified)
        .map(|e| e.email.trim().to_lowercase())
        .ok_or(Failure::EmailNotVerified)?;

    let meta = meta.clone();
    let policy = services.sessions;
    let billing = services.billing;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let owner_of_github: Option<Uuid> = users::table
            .filter(users::github_id.eq(profile.id))
            .select(users::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(link_user) = link_user {
            if owner_of_github.is_some_and(|owner| owner != link_user) {
                return Ok(Err(Failure::AlreadyLinked));
            }
            // An account that has not proven its address links only the
            // GitHub user who has it (which proves it): a squatter cannot
            // tie their own GitHub to an address they do not read.
            let (address, verified): (Option<String>, bool) = users::table
                .find(link_user)
                .select((users::email, users::email_verified))
                .first(conn)
                .await?;
            if !verified && address.as_deref().map(str::to_lowercase).as_deref() != Some(&email) {
                return Ok(Err(Failure::AccountUnverified));
            }
            link(conn, UserId(link_user), &profile, &email, &meta).await?;
            return Ok(Ok(Finished::Linked { return_to }));
        }
        let user = match owner_of_github {
            Some(user) => UserId(user),
            None => match user_by_email(conn, &email).await? {
                Some((user, true)) => {
                    link(conn, user, &profile, &email, &meta).await?;
                    user
                }
                Some((_, false)) => return Ok(Err(Failure::AccountUnverified)),
                None => create(conn, &email, &profile, &meta, billing).await?,
            },
        };
        let session = sessions::create(conn, user, &meta, policy).await?;
        audit::record(
            conn,
            Entry {
                action: action::LOGIN,
                user: Some(user),
                actor: &Actor::Anonymous,
                workspace: None,
                target_type: "session",
                target_id: session.id.to_string(),
                meta: &meta,
                details: json!({ "method": "github", "github_login": profile.login }),
            },
        )
        .await?;
        Ok(Ok(Finished::SignedIn { session, return_to }))
    })
    .await
    .map_err(internal)?
}

/// The account with `email`, and whether it verified the address.
async fn user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<(UserId, bool)>, ServiceError> {
    Ok(users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.to_owned()),
        )
        .select((users::id, users::email_verified))
        .first::<(Uuid, bool)>(conn)
        .await
        .optional()?
        .map(|(id, verified)| (UserId(id), verified)))
}

/// Links the GitHub identity to `user`. When the account's address is the
/// one GitHub verified (`github_email`), it counts as verified here too.
async fn link(
    conn: &mut AsyncPgConnection,
    user: UserId,
    profile: &GithubUser,
    github_email: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    diesel::update(users::table.find(user.0))
        .set(users::github_id.eq(profile.id))
        .execute(conn)
        .await?;
    diesel::update(users::table.find(user.0))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(github_email.to_owned()),
        )
        .set(users::email_verified.eq(true))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        Entry {
            action: action::GITHUB_LINKED,
            user: Some(user),
            actor: &Actor::Anonymous,
            workspace: None,
            target_type: "user",
            target_id: user.to_string(),
            meta,
            details: json!({ "github_id": profile.id, "github_login": profile.login }),
        },
    )
    .await
}

async fn create(
    conn: &mut AsyncPgConnection,
    email: &str,
    profile: &GithubUser,
    meta: &RequestMeta,
    billing: crate::ledger::Billing,
) -> Result<UserId, ServiceError> {
    let name = profile
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&profile.login)
        .chars()
        .take(80)
        .collect::<String>();
    let user = super::accounts::insert_user(conn, email, &name, None, true, billing).await?;
    diesel::update(users::table.find(user.0))
        .set(users::github_id.eq(profile.id))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        Entry {
            action: action::SIGNUP,
            user: Some(user),
            actor: &Actor::Anonymous,
            workspace: None,
            target_type: "user",
            target_id: user.to_string(),
            meta,
            details: json!({ "method": "github", "github_login": profile.login }),
        },
    )
    .await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            safe_return_to(Some("/settings/keys?x=1")),
            "/settings/keys?x=1"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "settings",
            "",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
