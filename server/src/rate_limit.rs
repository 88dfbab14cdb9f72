//! Rate limits (GCRA, from the `governor` crate), in this process's memory:
//!
//! - sign-in: per account and per IP, checked before the password, so once an
//!   account is limited even the right password waits out the window;
//! - sign-up: per IP;
//! - the whole API: per IP, and per API key for key holders.
//!
//! A limited request gets 429 with `Retry-After`. Several server processes
//! each keep their own counts (noted in docs/operations.md).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use service::ServiceError;

use crate::error::AppError;

/// How many requests a key may make in a window; the budget refills evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub requests: u32,
    pub window: Duration,
}

impl Budget {
    fn quota(self) -> Quota {
        let requests = NonZeroU32::new(self.requests.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = self.window / requests.get();
        Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(requests)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    /// `AGENTDECK_LOGIN_LIMIT`: sign-in attempts per account.
    pub login_per_account: Budget,
    /// Sign-in attempts per IP, across accounts.
    pub login_per_ip: Budget,
    /// Sign-ups per IP.
    pub signup_per_ip: Budget,
    /// `AGENTDECK_API_LIMIT`: API requests per IP.
    pub api_per_ip: Budget,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            login_per_account: Budget {
                requests: 5,
                window: Duration::from_secs(15 * 60),
            },
            login_per_ip: Budget {
                requests: 30,
                window: Duration::from_secs(15 * 60),
            },
            signup_per_ip: Budget {
                requests: 10,
                window: Duration::from_secs(60 * 60),
            },
            api_per_ip: Budget {
                requests: 600,
                window: Duration::from_secs(60),
            },
        }
    }
}

#[derive(Clone)]
pub struct Limits(Arc<Inner>);

struct Inner {
    login_per_account: DefaultKeyedRateLimiter<String>,
    login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    signup_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    api_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    api_per_key: DefaultKeyedRateLimiter<uuid::Uuid>,
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    message: &'static str,
) -> Result<(), AppError> {
    limiter.check_key(key).map_err(|not_until| {
        AppError::Service(ServiceError::RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            message,
        })
    })
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self(Arc::new(Inner {
            login_per_account: RateLimiter::keyed(settings.login_per_account.quota()),
            login_per_ip: RateLimiter::keyed(settings.login_per_ip.quota()),
            signup_per_ip: RateLimiter::keyed(settings.signup_per_ip.quota()),
            api_per_ip: RateLimiter::keyed(settings.api_per_ip.quota()),
            api_per_key: RateLimiter::keyed(settings.api_per_ip.quota()),
        }))
    }

    pub fn login(&self, ip: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(
                &self.0.login_per_ip,
                &ip,
                "Too many sign-in attempts from this address; wait before trying again.",
            )?;
        }
        check(
            &self.0.login_per_account,
            &email.trim().to_lowercase(),
            "Too many sign-in attempts for this account; wait before trying again.",
        )
    }

    pub fn signup(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.signup_per_ip,
                &ip,
                "Too many sign-ups from this address; wait before trying again.",
            ),
            None => Ok(()),
        }
    }

    pub fn api(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.api_per_ip,
                &ip,
                "Too many requests; slow down and retry after the time in Retry-After.",
            ),
            None => Ok(()),
        }
    }

    /// Per API key, with the same budget as per address.
    pub fn api_key(&self, key: uuid::Uuid) -> Result<(), AppError> {
        check(
            &self.0.api_per_key,
            &key,
            "Too many requests with this API key; retry after the time in Retry-After.",
        )
    }

    /// Forgets keys whose budget is full again, so memory tracks only the
    /// active ones. Called every minute.
    pub fn forget_idle(&self) {
        self.0.login_per_account.retain_recent();
        self.0.login_per_ip.retain_recent();
        self.0.signup_per_ip.retain_recent();
        self.0.api_per_ip.retain_recent();
        self.0.api_per_key.retain_recent();
    }
}

/// Signing in and up through the browser's door (both doors: REST and the
/// server functions) pass these limits.
impl service::auth::door::SignInLimits for Limits {
    fn login(&self, ip: &str, email: &str) -> Result<(), ServiceError> {
        Limits::login(self, ip.parse().ok(), email).map_err(as_service_error)
    }

    fn signup(&self, ip: &str) -> Result<(), ServiceError> {
        Limits::signup(self, ip.parse().ok()).map_err(as_service_error)
    }
}

fn as_service_error(error: AppError) -> ServiceError {
    match error {
        AppError::Service(error) => error,
        other => ServiceError::Internal(anyhow::anyhow!("a sign-in limit failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_allows_its_burst_then_refuses_with_a_wait() {
        let limits = Limits::new(LimitSettings {
            login_per_account: Budget {
                requests: 3,
                window: Duration::from_secs(60),
            },
            ..LimitSettings::default()
        });
        for _ in 0..3 {
            limits
                .login(None, "A@example.com")
                .expect("within the budget");
        }
        match limits.login(None, "a@example.com ") {
            Err(AppError::Service(ServiceError::RateLimited { retry_after, .. })) => {
                assert!(
                    retry_after > Duration::from_secs(10) && retry_after <= Duration::from_secs(20)
                );
            }
            other => panic!("expected a limit, got {other:?}"),
        }
        limits
            .login(None, "b@example.com")
            .expect("other accounts are unaffected");
    }
}
