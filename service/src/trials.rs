//! Test runs and tries: runs of an editor's text or of an agent's newest
//! version that belong to no deployment. They share the sandbox with
//! production runs, so they are kept to a fixed share of it: at most
//! `TrialLimits::share` run at once on this server (a concurrency cap sized
//! to half the cores, so production runs always find slots and CPU), each
//! account runs at most `at_once` at a time and starts at most
//! `per_minute` a minute, and their limits are clamped lower than a
//! deployment's (`trial_maximum`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};
use types::UserId;
use types::manifest::Limits;

use crate::ServiceError;

#[derive(Clone, Copy, Debug)]
pub struct TrialLimits {
    /// Test runs and tries running at once on this server, all accounts.
    pub share: usize,
    /// Test runs and tries one account runs at once.
    pub at_once: u32,
    /// Test runs and tries one account starts in a minute.
    pub per_minute: u32,
    /// How long a test run waits for the share before it is refused.
    pub queue_wait: Duration,
}

impl Default for TrialLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            share: (cores / 2).max(1),
            at_once: 2,
            per_minute: 30,
            queue_wait: Duration::from_secs(15),
        }
    }
}

/// The largest limits a test run or try gets, whatever its manifest asks:
/// lower than a deployment's (`Limits::platform_maximum`).
pub fn trial_maximum() -> Limits {
    Limits {
        timeout_ms: 15_000,
        memory_bytes: 128 << 20,
        fuel: 50_000_000_000,
        output_bytes: 1 << 20,
        log_bytes: 256 << 10,
        response_bytes: 2 << 20,
        llm_calls: 20,
        llm_tokens: 50_000,
    }
}

/// Accounts remembered at most; past that, idle ones are forgotten.
const ACCOUNTS_KEPT: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

struct Account {
    running: u32,
    window_started: Instant,
    started: u32,
}

pub struct TrialGate {
    limits: TrialLimits,
    share: Semaphore,
    accounts: Mutex<HashMap<UserId, Account>>,
}

/// A test run's place: its account's count and a share of the sandbox,
/// given back when dropped.
pub struct TrialPermit<'a> {
    gate: &'a TrialGate,
    user: UserId,
    _share: Option<SemaphorePermit<'a>>,
}

impl Drop for TrialPermit<'_> {
    fn drop(&mut self) {
        self.gate.finished(self.user);
    }
}

impl TrialGate {
    pub fn new(limits: TrialLimits) -> Self {
        Self {
            share: Semaphore::new(limits.share.max(1)),
            limits,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> TrialLimits {
        self.limits
    }

    /// Admits `user`'s test run, or refuses it (429 with when to retry):
    /// too many of theirs at once or this minute, or the share stayed full
    /// for `queue_wait`.
    pub async fn admit(&self, user: UserId) -> Result<TrialPermit<'_>, ServiceError> {
        self.admit_as(user, true).await
    }

    /// Admits the check of an editor's script (its top-level code runs once
    /// when a draft is loaded, saved or published): like a test run, but
    /// not counted against the account's test runs a minute.
    pub async fn admit_check(&self, user: UserId) -> Result<TrialPermit<'_>, ServiceError> {
        self.admit_as(user, false).await
    }

    async fn admit_as(&self, user: UserId, counted: bool) -> Result<TrialPermit<'_>, ServiceError> {
        self.count_in(user, counted)?;
        let mut permit = TrialPermit {
            gate: self,
            user,
            _share: None,
        };
        match tokio::time::timeout(self.limits.queue_wait, self.share.acquire()).await {
            Ok(Ok(share)) => {
                permit._share = Some(share);
                Ok(permit)
            }
            Ok(Err(_)) => Err(ServiceError::Unavailable(
                "the sandbox is shutting down".into(),
            )),
            Err(_) => Err(ServiceError::RateLimited {
                retry_after: Duration::from_secs(5),
                message: "test runs are busy on this server; try again in a few seconds",
            }),
        }
    }

    fn count_in(&self, user: UserId, counted: bool) -> Result<(), ServiceError> {
        let now = Instant::now();
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() >= ACCOUNTS_KEPT {
            accounts.retain(|_, a| a.running > 0 || now.duration_since(a.window_started) < WINDOW);
        }
        let account = accounts.entry(user).or_insert(Account {
            running: 0,
            window_started: now,
            started: 0,
        });
        if now.duration_since(account.window_started) >= WINDOW {
            account.window_started = now;
            account.started = 0;
        }
        if account.running >= self.limits.at_once {
            return Err(ServiceError::RateLimited {
                retry_after: Duration::from_secs(1),
                message: "too many test runs at once: wait for one to finish",
            });
        }
        if counted && account.started >= self.limits.per_minute {
            return Err(ServiceError::RateLimited {
                retry_after: WINDOW.saturating_sub(now.duration_since(account.window_started)),
                message: "too many test runs this minute: try again shortly",
            });
        }
        account.running += 1;
        account.started += u32::from(counted);
        Ok(())
    }

    fn finished(&self, user: UserId) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(account) = accounts.get_mut(&user) {
            account.running = account.running.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{TrialGate, TrialLimits};
    use crate::ServiceError;
    use std::time::Duration;
    use types::UserId;

    fn gate(share: usize) -> TrialGate {
        TrialGate::new(TrialLimits {
            share,
            at_once: 2,
            per_minute: 3,
            queue_wait: Duration::from_millis(50),
        })
    }

    #[tokio::test]
    async fn an_account_runs_a_few_at_once_and_a_few_a_minute() {
        let gate = gate(8);
        let ada = UserId(uuid::Uuid::new_v4());
        let first = gate.admit(ada).await.expect("first");
        let second = gate.admit(ada).await.expect("second");
        assert!(matches!(
            gate.admit(ada).await,
            Err(ServiceError::RateLimited { .. })
        ));
        // Someone else is not held up by Ada.
        let alan = UserId(uuid::Uuid::new_v4());
        drop(gate.admit(alan).await.expect("alan"));
        drop(first);
        let third = gate.admit(ada).await.expect("a third once one finished");
        drop((second, third));
        // Three started this minute: the fourth waits for the next.
        assert!(matches!(
            gate.admit(ada).await,
            Err(ServiceError::RateLimited { retry_after, .. }) if retry_after > Duration::from_secs(50)
        ));
    }

    #[tokio::test]
    async fn the_share_is_never_exceeded() {
        let gate = gate(1);
        let (ada, alan) = (UserId(uuid::Uuid::new_v4()), UserId(uuid::Uuid::new_v4()));
        let running = gate.admit(ada).await.expect("ada");
        assert!(matches!(
            gate.admit(alan).await,
            Err(ServiceError::RateLimited { .. })
        ));
        drop(running);
        // The refused one was not counted as running.
        drop(gate.admit(alan).await.expect("alan, now"));
        drop(gate.admit(alan).await.expect("and again"));
    }
}
