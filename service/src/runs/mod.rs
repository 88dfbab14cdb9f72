//! Runs of deployments: started synchronously (executed here, the caller
//! waits) or asynchronously (a `run.execute` job), each executed once under
//! a lease of the process running it (see migration 000012 for what happens
//! when that process dies), cancelled on request, limited per deployment,
//! and announced as events on `run:<id>` and `deployment:<id>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use runtime::kv::KvStore;
use tokio::task::AbortHandle;
use uuid::Uuid;

use super::schema::runs;
use super::{ServiceError, Services, ledger};
use types::deploy::{Run, RunStatus, RunSummary};
use types::topic::Topic;
use types::{DeploymentId, RunId};

mod cancel;
mod charge;
pub mod conversation;
mod execute;
mod fast;
pub mod input;
mod read;
mod start;

pub(crate) use cancel::cancel_unscoped;
pub use cancel::{cancel, keep};
pub use execute::{Claim, claim, execute, execute_claimed, fail_queued};
pub(crate) use read::get_unscoped;
pub use read::{get, list, metrics, recent};
pub use start::{Answered, Started, start, start_and_wait, start_embedded, start_triggered};

/// The job kind of asynchronous runs.
pub const RUN_JOB: &str = "run.execute";
/// Runs of one deployment executing at once, at most.
pub const MAX_RUNNING_PER_DEPLOYMENT: i64 = 8;
/// Makes the key-value store of a deployment.
pub type KvFactory = Arc<dyn Fn(Uuid) -> Arc<dyn KvStore> + Send + Sync>;

/// This process as a runner of runs: its id (on the runs it holds), the
/// lease it keeps on them, and the ones executing here, to cancel.
pub struct Runner {
    pub id: String,
    pub lease: Duration,
    /// How long a synchronous request waits for its run before answering
    /// 202 with the run (which goes on).
    pub sync_wait: Duration,
    kv: Option<KvFactory>,
    executing: Mutex<HashMap<Uuid, AbortHandle>>,
}

impl Runner {
    pub fn new(kv: Option<KvFactory>) -> Self {
        Self {
            id: format!("runner:{}:{}", std::process::id(), Uuid::new_v4().simple()),
            lease: Duration::from_secs(15),
            sync_wait: Duration::from_secs(10),
            kv,
            executing: Mutex::new(HashMap::new()),
        }
    }

    fn executing(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, AbortHandle>> {
        self.executing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A run row whole: its summary with its workspace, input, output, logs
/// and the key it was started with (whose spend cap counts the run).
#[derive(Queryable, QueryableByName, Selectable, Clone, Debug)]
#[diesel(table_name = runs)]
struct RunRecord {
    #[diesel(embed)]
    summary: RunSummaryRecord,
    workspace_id: Uuid,
    input: serde_json::Value,
    output: Option<serde_json::Value>,
    logs: serde_json::Value,
    logs_truncated: bool,
    api_key_id: Option<Uuid>,
    llm_calls: i32,
    llm_input_tokens: i64,
    llm_output_tokens: i64,
    llm_credits: i64,
    /// What the agent reads as `ctx.trigger`'s details.
    trigger_details: Option<serde_json::Value>,
    /// The web embed it was started from (whose daily cap it counts
    /// against, and whose conversation it answers in).
    embed_id: Option<Uuid>,
}

impl RunRecord {
    /// What started the run, as the agent reads it.
    fn trigger_for_agent(&self) -> runtime::Trigger {
        let details = self
            .trigger_details
            .clone()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}));
        let at = details["at"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                self.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            });
        runtime::Trigger {
            kind: self.trigger.clone(),
            at,
            details: details.to_string(),
        }
    }
}

impl std::ops::Deref for RunRecord {
    type Target = RunSummaryRecord;

    fn deref(&self) -> &RunSummaryRecord {
        &self.summary
    }
}

/// A run as lists show it: without input, output and logs.
#[derive(Queryable, QueryableByName, Selectable, Clone, Debug)]
#[diesel(table_name = runs)]
struct RunSummaryRecord {
    id: Uuid,
    deployment_id: Uuid,
    status: String,
    trigger: String,
    error: Option<serde_json::Value>,
    duration_us: Option<i64>,
    fuel_used: Option<i64>,
    peak_memory_bytes: Option<i64>,
    created_at: chrono::DateTime<Utc>,
    finished_at: Option<chrono::DateTime<Utc>>,
    price_credits: i64,
    charged_credits: i64,
}

impl RunSummaryRecord {
    fn view(self) -> RunSummary {
        RunSummary {
            id: self.id,
            deployment_id: self.deployment_id,
            status: RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed),
            trigger: self.trigger,
            error: self
                .error
                .and_then(|error| serde_json::from_value(error).ok()),
            duration_us: self.duration_us,
            fuel_used: self.fuel_used,
            peak_memory_bytes: self.peak_memory_bytes,
            created_at: self.created_at,
            finished_at: self.finished_at,
            price_credits: self.price_credits,
            charged_credits: self.charged_credits,
        }
    }
}

impl RunRecord {
    fn status(&self) -> RunStatus {
        RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed)
    }

    fn view(self) -> Run {
        Run {
            summary: self.summary.view(),
            input: self.input,
            output: self.output,
            logs: match self.logs {
                serde_json::Value::Array(lines) => lines,
                _ => Vec::new(),
            },
            logs_truncated: self.logs_truncated,
            llm: types::deploy::LlmUse {
                calls: i64::from(self.llm_calls),
                input_tokens: self.llm_input_tokens,
                output_tokens: self.llm_output_tokens,
                credits: self.llm_credits,
            },
        }
    }

    /// What the run holds, if it has a price.
    fn hold(&self, agent: Uuid) -> Option<ledger::Hold> {
        (self.price_credits > 0).then_some(ledger::Hold {
            subject: ledger::Subject::Run(self.id),
            payer: self.workspace_id,
            agent,
            price: self.price_credits,
        })
    }
}

fn topic(id: Uuid) -> Topic {
    Topic::Run(RunId(id))
}

fn deployment_topic(id: Uuid) -> Topic {
    Topic::Deployment(DeploymentId(id))
}

fn runner(services: &Services) -> Result<&Arc<Runner>, ServiceError> {
    services
        .runner
        .as_ref()
        .ok_or_else(|| ServiceError::Unavailable("this server does not run agents".into()))
}
