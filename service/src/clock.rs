//! The one clock for what happens at a time: schedules' slots, webhook
//! deliveries' retries, the job queue's `run_at` and expiries. The server
//! reads the system's; tests set and move a manual one, so a day of
//! retries or a daylight-saving change takes milliseconds, not a day.
//!
//! Leases of running jobs and runs are not on it: they measure whether a
//! process is alive, which only real time can tell.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System,
    /// A time that moves only when a test moves it; the receiver side wakes
    /// whoever waits for a time.
    Manual {
        now: Mutex<DateTime<Utc>>,
        moved: watch::Sender<DateTime<Utc>>,
    },
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Source::System))
    }

    /// A clock standing at `at` until [`Clock::set`] or [`Clock::advance`].
    pub fn manual(at: DateTime<Utc>) -> Self {
        let (moved, _) = watch::channel(at);
        Self(Arc::new(Source::Manual {
            now: Mutex::new(at),
            moved,
        }))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &*self.0 {
            Source::System => Utc::now(),
            Source::Manual { now, .. } => *now.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(&*self.0, Source::Manual { .. })
    }

    /// Moves a manual clock to `at` (never backwards); the system clock
    /// cannot be set.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Source::Manual { now, moved } = &*self.0 {
            let mut now = now.lock().unwrap_or_else(|e| e.into_inner());
            if at > *now {
                *now = at;
                moved.send_replace(at);
            }
        }
    }

    pub fn advance(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        self.set(self.now() + by);
    }

    /// Waits until the clock reads `at` or later, or `longest` of real time
    /// has passed, whichever comes first. A manual clock wakes the waiter
    /// as soon as it is moved past `at`.
    pub async fn sleep_until(&self, at: DateTime<Utc>, longest: Duration) {
        match &*self.0 {
            Source::System => {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(wait.min(longest)).await;
            }
            Source::Manual { moved, .. } => {
                let mut moved = moved.subscribe();
                let _ = tokio::time::timeout(longest, moved.wait_for(|now| *now >= at)).await;
            }
        }
    }

    /// Answers when a manual clock moves (never, for the system clock).
    pub async fn moved(&self) {
        match &*self.0 {
            Source::System => std::future::pending().await,
            Source::Manual { moved, .. } => {
                let mut moved = moved.subscribe();
                moved.borrow_and_update();
                let _ = moved.changed().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_forward_and_wakes_its_sleepers() {
        let start = DateTime::parse_from_rfc3339("2027-03-28T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::manual(start);
        clock.set(start - TimeDelta::hours(1));
        assert_eq!(clock.now(), start, "never backwards");
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock
                    .sleep_until(start + TimeDelta::hours(5), Duration::from_secs(30))
                    .await;
                clock.now()
            }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(4 * 3600));
        clock.advance(Duration::from_secs(3600));
        let woke = tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken by the move, not the 30 s limit")
            .unwrap();
        assert_eq!(woke, start + TimeDelta::hours(5));
    }
}
