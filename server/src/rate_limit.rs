//! Rate limits, in this process's memory:
//!
//! - sign-in: failed passwords slow further attempts (a wait that doubles
//!   with each failure past a few free ones) for the account and for the
//!   address they came from (IPv6 by /64, the block one subscriber gets),
//!   checked before the password; a browser holding a device cookie for the
//!   account is judged on its own failures only, so no stranger can lock
//!   the owner out (`service::auth::devices`);
//! - sign-up, and mail sent on request (verification, reset and change
//!   links): per address, and per recipient for mail (GCRA budgets, from
//!   the `governor` crate);
//! - the whole API: per address, and per API key for key holders.
//!
//! A limited request gets 429 with `Retry-After`. Several server processes
//! each keep their own counts (noted in docs/operations.md).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest as _, Sha256};

use service::ServiceError;
use service::auth::devices::Device;

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

/// A wait that grows with failures: `free` failures cost nothing, the next
/// one makes the key wait `first`, and each after doubles it, up to
/// `longest`. A key with no failure for twice `longest` starts afresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub first: Duration,
    pub longest: Duration,
}

impl Backoff {
    /// The wait after `failures` failures.
    pub fn wait_after(self, failures: u32) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30);
        self.first
            .saturating_mul(1_u32 << doublings)
            .min(self.longest)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    /// `AGENTDECK_LOGIN_LIMIT` (`<free failures>/<longest wait seconds>`):
    /// failed sign-ins per account.
    pub login_per_account: Backoff,
    /// Failed sign-ins per address, across accounts.
    pub login_per_ip: Backoff,
    /// Failed sign-ins from one known device.
    pub login_per_device: Backoff,
    /// Sign-ups per address.
    pub signup_per_ip: Budget,
    /// Mail sent on request to one recipient, and at one address's request.
    pub mail_per_recipient: Budget,
    pub mail_per_ip: Budget,
    /// `AGENTDECK_API_LIMIT`: API requests per address.
    pub api_per_ip: Budget,
    /// `AGENTDECK_DEVICE_LIMIT`: device sign-ins started per address.
    pub device_per_ip: Budget,
    /// Device codes a signed-in person looks up, and an address does.
    pub device_lookups_per_user: Budget,
    pub device_lookups_per_ip: Budget,
    /// OAuth clients registered per address (each is a row until purged).
    pub oauth_register_per_ip: Budget,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let backoff = |free| Backoff {
            free,
            first: Duration::from_secs(1),
            longest: Duration::from_secs(15 * 60),
        };
        Self {
            login_per_account: backoff(5),
            login_per_ip: backoff(20),
            login_per_device: backoff(10),
            signup_per_ip: Budget {
                requests: 10,
                window: Duration::from_secs(60 * 60),
            },
            mail_per_recipient: Budget {
                requests: 5,
                window: Duration::from_secs(60 * 60),
            },
            mail_per_ip: Budget {
                requests: 20,
                window: Duration::from_secs(60 * 60),
            },
            api_per_ip: Budget {
                requests: 600,
                window: Duration::from_secs(60),
            },
            device_per_ip: Budget {
                requests: 30,
                window: Duration::from_secs(60 * 60),
            },
            // Two lookups a sign-in (the page shows it, then decides).
            device_lookups_per_user: Budget {
                requests: 20,
                window: Duration::from_secs(60 * 60),
            },
            device_lookups_per_ip: Budget {
                requests: 120,
                window: Duration::from_secs(60 * 60),
            },
            oauth_register_per_ip: Budget {
                requests: 30,
                window: Duration::from_secs(60 * 60),
            },
        }
    }
}

/// The most keys a failure map keeps before it sheds those below their
/// free failures (about 64 bytes each).
const MAX_KEYS: usize = 200_000;

/// Failures per key, and the wait they impose.
struct Failures<K> {
    backoff: Backoff,
    seen: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Hash + Eq> Failures<K> {
    fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<K, (u32, Instant)>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long `key` must still wait, if at all.
    fn wait(&self, key: &K) -> Option<Duration> {
        let (failures, last) = *self.seen().get(key)?;
        let until = last + self.backoff.wait_after(failures);
        until
            .checked_duration_since(Instant::now())
            .filter(|wait| !wait.is_zero())
    }

    fn fail(&self, key: K) {
        let now = Instant::now();
        let mut seen = self.seen();
        if seen.len() >= MAX_KEYS {
            // A flood of distinct keys: keep only those that make a caller
            // wait, so memory stays bounded and no wait is forgotten early.
            let free = self.backoff.free;
            seen.retain(|_, (failures, _)| *failures >= free);
        }
        let entry = seen.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) > self.backoff.longest * 2 {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
    }

    fn clear(&self, key: &K) {
        self.seen().remove(key);
    }

    fn forget_idle(&self) {
        let keep = self.backoff.longest * 2;
        self.seen().retain(|_, (_, last)| last.elapsed() <= keep);
    }
}

/// The key of an address: IPv6 by /64, the block one subscriber gets.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The key of an account: a digest of its address, so a flood of long
/// made-up addresses costs 32 bytes each.
fn account_key(email: &str) -> [u8; 32] {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).into()
}

#[derive(Clone)]
pub struct Limits(Arc<Inner>);

struct Inner {
    failed_per_account: Failures<[u8; 32]>,
    failed_per_ip: Failures<IpAddr>,
    failed_per_device: Failures<Device>,
    signup_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    mail_per_recipient: DefaultKeyedRateLimiter<[u8; 32]>,
    mail_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    api_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    api_per_key: DefaultKeyedRateLimiter<uuid::Uuid>,
    device_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    device_lookups_per_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    device_lookups_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    oauth_register_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn refused(retry_after: Duration, message: &'static str) -> AppError {
    AppError::Service(ServiceError::RateLimited {
        retry_after,
        message,
    })
}

fn check<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    message: &'static str,
) -> Result<(), AppError> {
    limiter.check_key(key).map_err(|not_until| {
        refused(
            not_until.wait_time_from(DefaultClock::default().now()),
            message,
        )
    })
}

const WAIT_ADDRESS: &str = "Too many failed sign-ins from this address; wait before trying again.";
const WAIT_ACCOUNT: &str = "Too many failed sign-ins for this account; wait before trying again, \
     sign in from a browser you used before, or reset the password by email.";

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self(Arc::new(Inner {
            failed_per_account: Failures::new(settings.login_per_account),
            failed_per_ip: Failures::new(settings.login_per_ip),
            failed_per_device: Failures::new(settings.login_per_device),
            signup_per_ip: RateLimiter::keyed(settings.signup_per_ip.quota()),
            mail_per_recipient: RateLimiter::keyed(settings.mail_per_recipient.quota()),
            mail_per_ip: RateLimiter::keyed(settings.mail_per_ip.quota()),
            api_per_ip: RateLimiter::keyed(settings.api_per_ip.quota()),
            api_per_key: RateLimiter::keyed(settings.api_per_ip.quota()),
            device_per_ip: RateLimiter::keyed(settings.device_per_ip.quota()),
            device_lookups_per_user: RateLimiter::keyed(settings.device_lookups_per_user.quota()),
            device_lookups_per_ip: RateLimiter::keyed(settings.device_lookups_per_ip.quota()),
            oauth_register_per_ip: RateLimiter::keyed(settings.oauth_register_per_ip.quota()),
        }))
    }

    /// Before a password is checked: refused while the address or the
    /// account waits after failures.
    pub fn login(&self, ip: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        if let Some(wait) = ip.and_then(|ip| self.0.failed_per_ip.wait(&address_key(ip))) {
            return Err(refused(wait, WAIT_ADDRESS));
        }
        match self.0.failed_per_account.wait(&account_key(email)) {
            Some(wait) => Err(refused(wait, WAIT_ACCOUNT)),
            None => Ok(()),
        }
    }

    pub fn login_failed(&self, ip: Option<IpAddr>, email: &str) {
        if let Some(ip) = ip {
            self.0.failed_per_ip.fail(address_key(ip));
        }
        self.0.failed_per_account.fail(account_key(email));
    }

    pub fn signup(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.signup_per_ip,
                &address_key(ip),
                "Too many sign-ups from this address; wait before trying again.",
            ),
            None => Ok(()),
        }
    }

    pub fn api(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.api_per_ip,
                &address_key(ip),
                "Too many requests; slow down and retry after the time in Retry-After.",
            ),
            None => Ok(()),
        }
    }

    /// Before a device sign-in starts: each is a row and a code to guard.
    pub fn device_sign_in(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.device_per_ip,
                &address_key(ip),
                "Too many device sign-ins from this address; wait before trying again.",
            ),
            None => Ok(()),
        }
    }

    /// Before an OAuth client registers: each is a row to keep.
    pub fn oauth_register(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(
                &self.0.oauth_register_per_ip,
                &address_key(ip),
                "Too many OAuth clients registered from this address; wait before trying again.",
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

    /// Forgets keys whose budget is full again and failures long past, so
    /// memory tracks only the active ones. Called every minute.
    pub fn forget_idle(&self) {
        self.0.failed_per_account.forget_idle();
        self.0.failed_per_ip.forget_idle();
        self.0.failed_per_device.forget_idle();
        self.0.signup_per_ip.retain_recent();
        self.0.mail_per_recipient.retain_recent();
        self.0.mail_per_ip.retain_recent();
        self.0.api_per_ip.retain_recent();
        self.0.api_per_key.retain_recent();
        self.0.oauth_register_per_ip.retain_recent();
    }
}

/// Every door of the browser (REST and the server functions) passes these.
impl service::auth::door::SignInLimits for Limits {
    fn before_password(&self, ip: &str, account: &str) -> Result<(), ServiceError> {
        Limits::login(self, ip.parse().ok(), account).map_err(as_service_error)
    }

    fn wrong_password(&self, ip: &str, account: &str) {
        self.login_failed(ip.parse().ok(), account);
    }

    fn right_password(&self, account: &str) {
        self.0.failed_per_account.clear(&account_key(account));
    }

    fn before_address(&self, ip: &str) -> Result<(), ServiceError> {
        let ip: Option<IpAddr> = ip.parse().ok();
        match ip.and_then(|ip| self.0.failed_per_ip.wait(&address_key(ip))) {
            Some(wait) => Err(as_service_error(refused(wait, WAIT_ADDRESS))),
            None => Ok(()),
        }
    }

    fn before_device(&self, device: Device) -> Result<(), ServiceError> {
        match self.0.failed_per_device.wait(&device) {
            Some(wait) => Err(as_service_error(refused(wait, WAIT_ACCOUNT))),
            None => Ok(()),
        }
    }

    fn wrong_device_password(&self, ip: &str, device: Device) {
        if let Ok(ip) = ip.parse() {
            self.0.failed_per_ip.fail(address_key(ip));
        }
        self.0.failed_per_device.fail(device);
    }

    fn signup(&self, ip: &str) -> Result<(), ServiceError> {
        Limits::signup(self, ip.parse().ok()).map_err(as_service_error)
    }

    fn mail_from(&self, ip: &str) -> Result<(), ServiceError> {
        match ip.parse() {
            Ok(ip) => check(
                &self.0.mail_per_ip,
                &address_key(ip),
                "Too many mails asked for from this address; wait before asking again.",
            )
            .map_err(as_service_error),
            Err(_) => Ok(()),
        }
    }

    fn device_lookup(&self, user: types::UserId, ip: &str) -> Result<(), ServiceError> {
        const WAIT: &str = "Too many device codes looked up; wait before trying again.";
        check(&self.0.device_lookups_per_user, &user.0, WAIT).map_err(as_service_error)?;
        match ip.parse::<IpAddr>() {
            Ok(ip) => check(&self.0.device_lookups_per_ip, &address_key(ip), WAIT)
                .map_err(as_service_error),
            Err(_) => Ok(()),
        }
    }

    fn mail_to(&self, address: &str) -> Result<(), ServiceError> {
        check(
            &self.0.mail_per_recipient,
            &account_key(address),
            "Too many mails to this address lately; wait before asking again.",
        )
        .map_err(as_service_error)
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

    fn quick() -> Backoff {
        Backoff {
            free: 3,
            first: Duration::from_secs(10),
            longest: Duration::from_secs(60),
        }
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_longest() {
        let backoff = quick();
        assert_eq!(backoff.wait_after(2), Duration::ZERO);
        assert_eq!(backoff.wait_after(3), Duration::from_secs(10));
        assert_eq!(backoff.wait_after(4), Duration::from_secs(20));
        assert_eq!(backoff.wait_after(5), Duration::from_secs(40));
        assert_eq!(backoff.wait_after(6), Duration::from_secs(60));
        assert_eq!(backoff.wait_after(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn failures_make_the_account_wait_and_other_accounts_do_not() {
        let limits = Limits::new(LimitSettings {
            login_per_account: quick(),
            ..LimitSettings::default()
        });
        for _ in 0..3 {
            limits.login(None, "A@example.com").expect("no wait yet");
            limits.login_failed(None, "a@example.com ");
        }
        match limits.login(None, "a@example.com") {
            Err(AppError::Service(ServiceError::RateLimited { retry_after, .. })) => {
                assert!(
                    retry_after > Duration::from_secs(8) && retry_after <= Duration::from_secs(10)
                );
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        limits
            .login(None, "b@example.com")
            .expect("other accounts are unaffected");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            address_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }
}
