//! Background work from the PostgreSQL job queue (`jobs`, migration 000009).
//!
//! Handlers must be idempotent: a job runs at least once, and again when its
//! worker dies before recording the outcome. `service::jobs::enqueue`
//! adds jobs; a [`worker::Worker`] runs them.

pub mod deploy;
pub mod mail;
pub mod scheduler;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;

pub use worker::{Worker, WorkerConfig};

/// A job as its handler sees it.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// 1 on the first attempt.
    pub attempt: i32,
    pub max_attempts: i32,
    /// Set when the attempts are used up: the handler's `give_up` runs.
    pub giving_up: bool,
    pub last_error: Option<String>,
}

/// Why an attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobError {
    /// Worth another attempt after a backoff (a database hiccup, a timeout).
    Retry(String),
    /// No attempt can succeed (bad payload, the thing is gone): give up now.
    Fail(String),
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            Self::Retry(message) | Self::Fail(message) => message,
        }
    }
}

impl From<service::ServiceError> for JobError {
    fn from(error: service::ServiceError) -> Self {
        match error {
            service::ServiceError::Unavailable(_) | service::ServiceError::Internal(_) => {
                Self::Retry(error.to_string())
            }
            other => Self::Fail(other.to_string()),
        }
    }
}

pub type JobResult = Result<(), JobError>;

/// Runs one kind of job.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult>;

    /// Called once the attempts are used up (or an attempt answered
    /// [`JobError::Fail`]), with the last error: record the failure where
    /// users see it. Retried like `run` until it succeeds, a few times.
    fn give_up(&self, _job: Job, _error: String) -> BoxFuture<'static, JobResult> {
        Box::pin(async { Ok(()) })
    }
}

/// Handlers by job kind. A worker claims only the kinds it has handlers
/// for, so servers of different versions can share one queue.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn Handler>>,
}

impl Registry {
    /// With the handlers every server has.
    pub fn new() -> Self {
        Self::default().with(NOOP, Noop)
    }

    /// Every handler the server has, over `services`.
    pub fn server(services: &service::Services) -> Self {
        use service::deployments::{DEPLOY_JOB, STOP_JOB};
        let registry = Self::new()
            .with(
                DEPLOY_JOB,
                deploy::Deploy {
                    services: services.clone(),
                },
            )
            .with(
                STOP_JOB,
                deploy::Stop {
                    services: services.clone(),
                },
            )
            .with(
                service::runs::RUN_JOB,
                deploy::ExecuteRun {
                    services: services.clone(),
                },
            )
            .with(
                service::schedules::FIRE_JOB,
                scheduler::FireSchedule {
                    services: services.clone(),
                },
            )
            .with(
                service::webhooks::DELIVER_JOB,
                scheduler::Deliver {
                    services: services.clone(),
                },
            )
            .with(
                service::connections::refresh::REFRESH_JOB,
                scheduler::RefreshConnection {
                    services: services.clone(),
                },
            )
            .with(
                service::auth::recovery::RESET_JOB,
                mail::PasswordReset {
                    services: services.clone(),
                },
            );
        // A server without a mailer leaves mail for one that has it.
        match &services.mailer {
            Some(mailer) => registry.with(
                service::mail::SEND_JOB,
                mail::SendMail {
                    mailer: Arc::clone(mailer),
                },
            ),
            None => registry,
        }
    }

    pub fn with(mut self, kind: &str, handler: impl Handler) -> Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

/// A job that does nothing: a probe of the queue itself (and what the queue
/// benchmark measures).
pub const NOOP: &str = "noop";

struct Noop;

impl Handler for Noop {
    fn run(&self, _job: Job) -> BoxFuture<'static, JobResult> {
        Box::pin(async { Ok(()) })
    }
}
