//! The schedules' loop, and the handlers of the jobs the clock drives
//! (`schedule.fire`, `webhook.deliver`). The loop: every server with workers runs one. It fires what
//! is due (`service::schedules::fire_due`, safe to run in many servers at
//! once), then sleeps until the next slot, at most a second (another
//! server may have added a sooner one), or until a test moves the clock.

use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Handler, Job, JobResult};

/// Schedules handled in one transaction.
const BATCH: i64 = 100;
/// The longest sleep between two looks.
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(services: service::Services, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures = 0u32;
        while !*stop.borrow() {
            let pause = match service::schedules::fire_due(&services, BATCH).await {
                Ok(handled) if handled as i64 >= BATCH => continue,
                Ok(_) => {
                    failures = 0;
                    None
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, "firing schedules failed");
                    Some(Duration::from_millis(100 * 2u64.pow(failures.min(5))))
                }
            };
            let clock = &services.clock;
            let next = match pause {
                Some(pause) => clock.now() + chrono::TimeDelta::from_std(pause).unwrap_or_default(),
                None => service::schedules::next_due(&services)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| clock.now() + chrono::TimeDelta::seconds(1)),
            };
            tokio::select! {
                () = clock.sleep_until(next, LOOK_EVERY) => {}
                () = clock.moved() => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// `schedule.fire`: starts one slot's run.
pub struct FireSchedule {
    pub services: service::Services,
}

impl Handler for FireSchedule {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            service::schedules::fire(&services, &job.payload).await?;
            Ok(())
        })
    }
}

/// `webhook.deliver`: one attempt of one outgoing webhook delivery.
pub struct Deliver {
    pub services: service::Services,
}

impl Handler for Deliver {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            service::webhooks::deliver(&services, &job.payload).await?;
            Ok(())
        })
    }
}

/// `connection.refresh`: renews a connection's access token before it
/// expires.
pub struct RefreshConnection {
    pub services: service::Services,
}

impl Handler for RefreshConnection {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            service::connections::refresh::run_job(&services, &job.payload).await?;
            Ok(())
        })
    }
}
