//! Ending runs early: a cancel on request (here, or on the process that
//! holds it), and the keeper that ends runs whose process died.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::runs;
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::deploy::{Run, RunError, RunStatus};

use super::RunRecord;
use super::Runner;
use super::charge::Ending;
use super::charge::end;
use super::execute::lease_of;
use super::read::visible;

/// Cancels a run: a queued one at once; a running one as soon as the
/// process running it hears (at once here, within a lease renewal there).
pub async fn cancel(services: &Services, actor: &Actor, run_id: Uuid) -> Result<Run, ServiceError> {
    actor.require_scope(Scope::RunsWrite)?;
    cancel_unscoped(services, actor, run_id).await
}

/// `cancel` for a caller whose scope was checked otherwise (MCP: its own
/// calls).
pub(crate) async fn cancel_unscoped(
    services: &Services,
    actor: &Actor,
    run_id: Uuid,
) -> Result<Run, ServiceError> {
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, run_id).await?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(record.workspace_id),
        Role::Member,
    )
    .await?;
    match record.status() {
        RunStatus::Queued => {
            end(&mut conn, run_id, Ending::Cancelled, RunStatus::Queued).await?;
        }
        RunStatus::Running => {
            diesel::update(runs::table.find(run_id))
                .set(runs::cancel_requested.eq(true))
                .execute(&mut conn)
                .await?;
            if let Some(runner) = &services.runner {
                cancel_here(services, runner, &[run_id]).await?;
            }
        }
        _ => {}
    }
    visible(&mut conn, actor, run_id).await.map(RunRecord::view)
}

/// Stops the runs of `ids` that execute in this process, recorded as
/// cancelled.
pub(super) async fn cancel_here(
    services: &Services,
    runner: &Runner,
    ids: &[Uuid],
) -> Result<(), ServiceError> {
    for id in ids {
        let handle = runner.executing().remove(id);
        if let Some(handle) = handle {
            handle.abort();
            let mut conn = services.conn().await?;
            end(&mut conn, *id, Ending::Cancelled, RunStatus::Running).await?;
        }
    }
    Ok(())
}

/// Renews this process's leases, acts on cancellations of its runs, and
/// ends runs whose process died (their lease ran out): they are not run
/// again. Call every third of the lease.
pub async fn keep(services: &Services) -> Result<(), ServiceError> {
    let Some(runner) = services.runner.clone() else {
        return Ok(());
    };
    // Only the runs a task of this process executes: a run recorded as
    // started whose task never began (its caller went away between the
    // start's commit and the spawn, say) lets its lease run out and is
    // ended below, its slot and held price given back.
    let executing: Vec<Uuid> = runner.executing().keys().copied().collect();
    let mut conn = services.conn().await?;
    let renewed: Vec<(Uuid, bool)> = diesel::update(
        runs::table
            .filter(runs::runner.eq(&runner.id))
            .filter(runs::status.eq("running"))
            .filter(runs::id.eq_any(&executing)),
    )
    .set(runs::lease_until.eq(Utc::now() + lease_of(&runner)))
    .returning((runs::id, runs::cancel_requested))
    .get_results(&mut conn)
    .await?;
    let cancelled: Vec<Uuid> = renewed
        .iter()
        .filter(|(_, c)| *c)
        .map(|(id, _)| *id)
        .collect();
    drop(conn);
    cancel_here(services, &runner, &cancelled).await?;
    let mut conn = services.conn().await?;
    let orphans: Vec<Uuid> = runs::table
        .filter(runs::status.eq("running"))
        .filter(runs::lease_until.lt(Utc::now()))
        .select(runs::id)
        .load(&mut conn)
        .await?;
    for id in orphans {
        let error = RunError {
            code: "interrupted".into(),
            message: "the server running it stopped; it was not run again, since it may \
                      have had effects"
                .into(),
            line: None,
            column: None,
        };
        // One that cannot be ended now is tried again next time; the
        // others go on.
        if let Err(error) = end(&mut conn, id, Ending::Orphaned(error), RunStatus::Running).await {
            tracing::warn!(%error, run = %id, "ending a run whose process died failed");
        }
    }
    Ok(())
}
