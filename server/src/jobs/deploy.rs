//! The deploy pipeline's jobs.
//!
//! `deployment.deploy`: queued → building (the version's script and
//! manifest read, checked and prepared in the sandbox, once per content
//! hash) → starting (a fresh sandbox instance as a run gets it) → running.
//! A script that cannot load, or a manifest the sandbox refuses, ends in
//! `failed` with the reason at once; a passing fault (the database, the
//! sandbox starting) is retried, and when the retries run out the
//! deployment fails with the last error. `deployment.stop`: stopping →
//! stopped.
//!
//! Each job names the deployment's generation: a newer deploy, a stop or a
//! delete makes it stale, and then it does nothing. Running a job twice
//! (after a crash) repeats harmless steps only.

use std::time::Instant;

use futures::future::BoxFuture;
use service::{Services, authoring, deployments};
use types::deploy::DeploymentStatus;
use uuid::Uuid;

use super::{Handler, Job, JobError, JobResult};

pub struct Deploy {
    pub services: Services,
}

pub struct Stop {
    pub services: Services,
}

/// `{"deployment": <id>, "generation": <n>}`.
fn target(job: &Job) -> Result<(Uuid, i32), JobError> {
    let id = job.payload["deployment"]
        .as_str()
        .and_then(|id| id.parse().ok());
    let generation = job.payload["generation"]
        .as_i64()
        .and_then(|n| i32::try_from(n).ok());
    match (id, generation) {
        (Some(id), Some(generation)) => Ok((id, generation)),
        _ => Err(JobError::Fail(format!(
            "not a deployment job: {}",
            job.payload
        ))),
    }
}

impl Handler for Deploy {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let (id, generation) = target(&job)?;
            deploy(&services, id, generation).await
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let Ok((id, generation)) = target(&job) else {
                return Ok(());
            };
            let reason = format!("the deploy could not finish: {error}");
            deployments::advance(
                &services,
                id,
                generation,
                DeploymentStatus::Failed,
                Some(reason),
            )
            .await?;
            Ok(())
        })
    }
}

impl Handler for Stop {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let (id, generation) = target(&job)?;
            // Runs in flight finish on their own; new ones are refused from
            // `stopping` on.
            deployments::advance(&services, id, generation, DeploymentStatus::Stopped, None)
                .await?;
            Ok(())
        })
    }
}

async fn deploy(services: &Services, id: Uuid, generation: i32) -> JobResult {
    let Some(work) = deployments::deploy_work(services, id, generation).await? else {
        return Ok(());
    };
    let fail = |reason: String| async move {
        deployments::advance(
            services,
            id,
            generation,
            DeploymentStatus::Failed,
            Some(reason),
        )
        .await
        .map(drop)
        .map_err(JobError::from)
    };
    if !deployments::advance(services, id, generation, DeploymentStatus::Building, None).await? {
        return Ok(());
    }
    let started = Instant::now();
    let Some(source) = work.source.as_deref() else {
        return fail("this version has no script the sandbox can run".to_owned()).await;
    };
    let manifest = &work.manifest;
    let sandbox = service::sandbox::of(services)?;
    let runtime = sandbox.runtime().await?;
    let sha256 = work
        .sha256
        .clone()
        .unwrap_or_else(|| authoring::sha256_hex(source));
    let prepared = match sandbox
        .prepare_version(
            &runtime,
            &sha256,
            &work.record.name,
            source,
            &manifest.limits,
        )
        .await
    {
        Ok(prepared) => prepared,
        Err(runtime::PrepareError::Internal(detail)) => return Err(JobError::Retry(detail)),
        Err(error) => return fail(format!("the script does not load: {error}")).await,
    };
    deployments::log(
        services,
        id,
        "info",
        format!(
            "built {} {} in {} ms",
            work.record.name,
            work.version,
            started.elapsed().as_millis()
        ),
    )
    .await?;
    if !deployments::advance(services, id, generation, DeploymentStatus::Starting, None).await? {
        return Ok(());
    }
    let checked = Instant::now();
    match runtime.health_check(&prepared).await {
        Ok(()) => {}
        Err(runtime::PrepareError::Internal(detail)) => return Err(JobError::Retry(detail)),
        Err(error) => return fail(format!("the health check failed: {error}")).await,
    }
    deployments::log(
        services,
        id,
        "info",
        format!("healthy in {} µs", checked.elapsed().as_micros()),
    )
    .await?;
    deployments::advance(services, id, generation, DeploymentStatus::Running, None).await?;
    Ok(())
}

/// `run.execute {"run": <id>}`: an asynchronous run, executed here once.
pub struct ExecuteRun {
    pub services: Services,
}

fn run_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload["run"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobError::Fail(format!("not a run job: {}", job.payload)))
}

impl Handler for ExecuteRun {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let id = run_id(&job)?;
            match service::runs::claim(&services, id).await? {
                service::runs::Claim::Claimed => {
                    service::runs::execute_claimed(&services, id).await?;
                    Ok(())
                }
                service::runs::Claim::Busy => Err(JobError::Retry(
                    "the deployment runs as many runs as it may at once".to_owned(),
                )),
                // Done, cancelled, or started by an earlier attempt whose
                // process died (then it is failed, not run again).
                service::runs::Claim::Gone => Ok(()),
            }
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let Ok(id) = run_id(&job) else { return Ok(()) };
            service::runs::fail_queued(&services, id, format!("the run could not start: {error}"))
                .await?;
            Ok(())
        })
    }
}
