//! The browser's door: signing in, up and out as both the REST API and the
//! SPA's server functions do it. Besides the account checks, signing in and
//! up pass the server's rate limits (`SignInLimits`, kept by the web layer),
//! end the browser's previous session (one browser, one session), and leave
//! the session to set or clear as a cookie in the door's outcome, which the
//! web layer turns into `Set-Cookie` (and a refusal into `Retry-After`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use types::account::{LoginRequest, Me, SignupRequest};

use super::{accounts, sessions};
use crate::actor::{Actor, RequestMeta};
use crate::{ServiceError, Services};

/// The rate limits of signing in and up, per address and per account.
pub trait SignInLimits: Send + Sync {
    fn login(&self, ip: &str, email: &str) -> Result<(), ServiceError>;
    fn signup(&self, ip: &str) -> Result<(), ServiceError>;
}

/// What the session cookie should become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCookie {
    /// A new session: its token.
    Set(String),
    Cleared,
}

/// What one pass through the door leaves for the web layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub cookie: Option<SessionCookie>,
    /// A refusal by the rate limits: when to try again.
    pub retry_after: Option<Duration>,
}

/// One request's door: the limits, and what the request left behind.
#[derive(Clone)]
pub struct BrowserDoor {
    limits: Arc<dyn SignInLimits>,
    outcome: Arc<Mutex<Outcome>>,
}

impl BrowserDoor {
    pub fn new(limits: Arc<dyn SignInLimits>) -> Self {
        Self {
            limits,
            outcome: Arc::default(),
        }
    }

    /// What this request left: the cookie to set or clear, a wait.
    pub fn outcome(&self) -> Outcome {
        self.outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn record(&self, change: impl FnOnce(&mut Outcome)) {
        change(&mut self.outcome.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Notes a rate limit's refusal (its wait) on the way out.
    fn limited(&self, checked: Result<(), ServiceError>) -> Result<(), ServiceError> {
        if let Err(ServiceError::RateLimited { retry_after, .. }) = &checked {
            let wait = *retry_after;
            self.record(|outcome| outcome.retry_after = Some(wait));
        }
        checked
    }

    /// Signs in with email and password: a new session (a new id, so a
    /// planted cookie gains nothing), the browser's previous one ended.
    pub async fn sign_in(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: LoginRequest,
    ) -> Result<Me, ServiceError> {
        actor.require_browser()?;
        self.limited(self.limits.login(&meta.ip, &request.email))?;
        let (me, session) = accounts::login(services, request, meta).await?;
        self.entered(services, actor, session.token).await?;
        Ok(me)
    }

    /// Makes an account and signs it in.
    pub async fn sign_up(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: SignupRequest,
    ) -> Result<Me, ServiceError> {
        actor.require_browser()?;
        self.limited(self.limits.signup(&meta.ip))?;
        let (me, session) = accounts::signup(services, request, meta).await?;
        self.entered(services, actor, session.token).await?;
        Ok(me)
    }

    /// Ends the caller's session; the cookie is cleared.
    pub async fn sign_out(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> Result<(), ServiceError> {
        accounts::logout(services, actor, meta).await?;
        self.record(|outcome| outcome.cookie = Some(SessionCookie::Cleared));
        Ok(())
    }

    /// One browser, one session: signing in (or up) while signed in ends
    /// the old session.
    async fn entered(
        &self,
        services: &Services,
        actor: &Actor,
        token: String,
    ) -> Result<(), ServiceError> {
        if let Some(previous) = actor.session_id() {
            let mut conn = services.conn().await?;
            sessions::revoke(&mut conn, previous).await?;
        }
        self.record(|outcome| outcome.cookie = Some(SessionCookie::Set(token)));
        Ok(())
    }
}
