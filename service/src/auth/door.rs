//! The browser's door: signing in, up and out, and getting back in (reset
//! links, verification, password and address changes), as both the REST API
//! and the SPA's server functions do it. Besides the account checks, signing in and
//! up pass the server's rate limits (`SignInLimits`, kept by the web layer),
//! end the browser's previous session (one browser, one session), and leave
//! the session to set or clear as a cookie in the door's outcome, which the
//! web layer turns into `Set-Cookie` (and a refusal into `Retry-After`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use types::account::{
    EmailChange, LoginRequest, MailQueued, Me, PasswordChange, PasswordReset, SignupRequest,
};

use super::devices::Device;
use super::{accounts, recovery, sessions};
use crate::actor::{Actor, RequestMeta};
use crate::{ServiceError, Services};

/// The limits of the browser's door, kept by the web layer: failed
/// passwords slow further attempts from the address and for the account
/// (a growing wait), and a device that signed in before is judged on its
/// own failures only (`devices`), so strangers cannot lock out the owner.
pub trait SignInLimits: Send + Sync {
    /// Before a password for `account` (an address) is checked from `ip`:
    /// refused while either must wait.
    fn before_password(&self, ip: &str, account: &str) -> Result<(), ServiceError>;
    /// A wrong password for `account` from `ip`: both waits grow.
    fn wrong_password(&self, ip: &str, account: &str);
    /// The right password, from a browser the account did not know: the
    /// account's wait ends.
    fn right_password(&self, account: &str);
    /// Before a known device's password is checked, from `ip`: refused
    /// while the address waits.
    fn before_address(&self, ip: &str) -> Result<(), ServiceError>;
    /// Before a known device's password is checked: refused once the
    /// device itself failed too often (then the ordinary limits apply).
    /// Signed-in password checks count per session the same way.
    fn before_device(&self, device: Device) -> Result<(), ServiceError>;
    /// A wrong password from a known device: its own wait and the address's
    /// grow, never the account's.
    fn wrong_device_password(&self, ip: &str, device: Device);
    fn signup(&self, ip: &str) -> Result<(), ServiceError>;
    /// Before a signed-in `user` at `ip` looks up a device sign-in's code:
    /// counted per person and per address, so nobody walks the code space.
    fn device_lookup(&self, user: types::UserId, ip: &str) -> Result<(), ServiceError>;
    /// Before mail goes out at the request of `ip`.
    fn mail_from(&self, ip: &str) -> Result<(), ServiceError>;
    /// Before mail goes to `address`.
    fn mail_to(&self, address: &str) -> Result<(), ServiceError>;
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
    /// A device cookie to set: this browser signed in to an account.
    pub device: Option<String>,
    /// A refusal by the rate limits: when to try again.
    pub retry_after: Option<Duration>,
    /// A connection's sign-in started (`connections::flows::start`): the
    /// token of the cookie that binds its callback to this browser.
    pub connect_flow: Option<String>,
}

/// One request's door: the limits, and what the request left behind.
#[derive(Clone)]
pub struct BrowserDoor {
    limits: Arc<dyn SignInLimits>,
    /// The device cookie the browser sent, if any.
    device_cookie: Option<String>,
    outcome: Arc<Mutex<Outcome>>,
}

impl BrowserDoor {
    pub fn new(limits: Arc<dyn SignInLimits>) -> Self {
        Self {
            limits,
            device_cookie: None,
            outcome: Arc::default(),
        }
    }

    /// With the device cookie the request carried.
    pub fn with_device_cookie(mut self, cookie: Option<&str>) -> Self {
        self.device_cookie = cookie.map(str::to_owned);
        self
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

    /// Leaves the cookie of a connection's sign-in that just started, so
    /// only this browser may finish it.
    pub fn leave_connect_flow(&self, browser_token: String) {
        self.record(|outcome| outcome.connect_flow = Some(browser_token));
    }

    /// Notes a rate limit's refusal (its wait) on the way out.
    /// Counts a device-code lookup (`device_sign_in`) against the limits.
    pub fn device_lookup(&self, user: types::UserId, ip: &str) -> Result<(), ServiceError> {
        self.limited(self.limits.device_lookup(user, ip))
    }

    fn limited<T>(&self, checked: Result<T, ServiceError>) -> Result<T, ServiceError> {
        if let Err(ServiceError::RateLimited { retry_after, .. }) = &checked {
            let wait = *retry_after;
            self.record(|outcome| outcome.retry_after = Some(wait));
        }
        checked
    }

    /// Signs in with email and password: a new session (a new id, so a
    /// planted cookie gains nothing), the browser's previous one ended. A
    /// browser with a device cookie for the address passes the account's
    /// wait: only its own failures count against it.
    pub async fn sign_in(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: LoginRequest,
    ) -> Result<Me, ServiceError> {
        actor.require_browser()?;
        let email = request.email.trim().to_lowercase();
        let known = match (self.device_cookie.as_deref(), services.devices.as_deref()) {
            (Some(cookie), Some(devices)) if email.len() <= 254 => {
                accounts::credentials_epoch(services, &email)
                    .await?
                    .and_then(|epoch| devices.recognise(cookie, &email, epoch))
            }
            _ => None,
        }
        .filter(|device| self.limits.before_device(*device).is_ok());
        match known {
            Some(_) => self.limited(self.limits.before_address(&meta.ip))?,
            None => self.limited(self.limits.before_password(&meta.ip, &email))?,
        }
        match accounts::login(services, request, meta).await {
            Ok((me, session)) => {
                if known.is_none() {
                    self.limits.right_password(&email);
                }
                self.entered(services, actor, session.token, &email).await?;
                Ok(me)
            }
            Err(ServiceError::InvalidCredentials) => {
                match known {
                    Some(device) => self.limits.wrong_device_password(&meta.ip, device),
                    None => self.limits.wrong_password(&meta.ip, &email),
                }
                Err(ServiceError::InvalidCredentials)
            }
            Err(other) => Err(other),
        }
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
        let email = me.user.email.clone().unwrap_or_default();
        self.entered(services, actor, session.token, &email).await?;
        Ok(me)
    }

    /// Mails a reset link if the address has an account; answers the same
    /// either way.
    pub async fn request_password_reset(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        email: &str,
    ) -> Result<(), ServiceError> {
        let limited = recovery::request_reset(services, self.limits.as_ref(), actor, meta, email);
        self.limited(limited.await)
    }

    /// Sets a new password from a reset link and signs this browser in;
    /// every other session of the account ends. No sign-in limit stands in
    /// the way: the link is the proof, and the account's wait ends.
    pub async fn reset_password(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: PasswordReset,
    ) -> Result<Me, ServiceError> {
        let (me, session, email) = recovery::reset_password(services, actor, meta, request).await?;
        self.limits.right_password(&email);
        self.entered(services, actor, session.token, &email).await?;
        Ok(me)
    }

    /// Sends the signed-in user a new verification link.
    pub async fn resend_verification(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> Result<MailQueued, ServiceError> {
        let sent = recovery::resend_verification(services, self.limits.as_ref(), actor, meta);
        self.limited(sent.await)
    }

    /// Changes the signed-in user's password (the current one checked
    /// under the sign-in limits); their other sessions end.
    pub async fn change_password(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: PasswordChange,
    ) -> Result<(), ServiceError> {
        let changed =
            recovery::change_password(services, self.limits.as_ref(), actor, meta, request);
        let email = self.limited(changed.await)?;
        // The other browsers are strangers again; this one stays known.
        if let Some(devices) = &services.devices
            && let Some(epoch) = accounts::credentials_epoch(services, &email).await?
        {
            let device = devices.issue(&email, epoch)?;
            self.record(|outcome| outcome.device = Some(device));
        }
        Ok(())
    }

    /// Starts moving the signed-in user to another address.
    pub async fn change_email(
        &self,
        services: &Services,
        actor: &Actor,
        meta: &RequestMeta,
        request: EmailChange,
    ) -> Result<MailQueued, ServiceError> {
        let sent = recovery::change_email(services, self.limits.as_ref(), actor, meta, request);
        self.limited(sent.await)
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
    /// the old session. The browser becomes a known device of `email`.
    async fn entered(
        &self,
        services: &Services,
        actor: &Actor,
        token: String,
        email: &str,
    ) -> Result<(), ServiceError> {
        if let Some(previous) = actor.session_id() {
            let mut conn = services.conn().await?;
            sessions::revoke(&mut conn, previous).await?;
        }
        let device = match (&services.devices, email.is_empty()) {
            (Some(devices), false) => match accounts::credentials_epoch(services, email).await? {
                Some(epoch) => Some(devices.issue(email, epoch)?),
                None => None,
            },
            _ => None,
        };
        self.record(|outcome| {
            outcome.cookie = Some(SessionCookie::Set(token));
            outcome.device = device;
        });
        Ok(())
    }
}
