//! Firing schedules. Every server with workers runs the same loop
//! (`server::jobs::scheduler`): [`fire_due`] takes the due schedules with
//! `FOR UPDATE SKIP LOCKED`, moves each one's `next_at` on and queues one
//! `schedule.fire` job per slot, all in one transaction, so a slot is
//! queued once however many servers look. The job ([`fire`]) starts the
//! run with the idempotency key `schedule:<id>:<slot>`: a job that runs
//! twice (its worker died) answers the first run again.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ScheduleRecord;
use super::cron::{self, Timing};
use crate::actor::Actor;
use crate::jobs::{NewJob, enqueue};
use crate::schema::{deployments, runs, schedules};
use crate::{ServiceError, Services, access};
use types::deploy::{DeploymentStatus, StartRun};
use types::{UserId, WorkspaceId};

/// The job that starts one slot's run.
pub const FIRE_JOB: &str = "schedule.fire";
/// A slot handled later than this was missed (no server was running):
/// the schedule's catch-up policy decides.
pub const MISSED_AFTER: Duration = Duration::from_secs(60);

/// Handles the schedules due by the clock, up to `limit` of them; answers
/// how many.
pub async fn fire_due(services: &Services, limit: i64) -> Result<usize, ServiceError> {
    let now = services.clock.now();
    let mut conn = services.conn().await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        let due: Vec<ScheduleRecord> = schedules::table
            .filter(schedules::enabled.eq(true))
            .filter(schedules::next_at.le(now))
            .order(schedules::next_at)
            .limit(limit)
            .for_update()
            .skip_locked()
            .select(ScheduleRecord::as_select())
            .load(conn)
            .await?;
        let ids: Vec<Uuid> = due.iter().map(|row| row.deployment_id).collect();
        let states: std::collections::HashMap<Uuid, (String, bool)> = deployments::table
            .filter(deployments::id.eq_any(&ids))
            .select((
                deployments::id,
                deployments::status,
                deployments::deleted_at,
            ))
            .load::<(Uuid, String, Option<DateTime<Utc>>)>(conn)
            .await?
            .into_iter()
            .map(|(id, status, deleted)| (id, (status, deleted.is_some())))
            .collect();
        for schedule in &due {
            let (status, deleted) = states
                .get(&schedule.deployment_id)
                .map_or(("deleted", true), |(status, deleted)| {
                    (status.as_str(), *deleted)
                });
            handle(conn, now, schedule, status, deleted).await?;
        }
        Ok(due.len())
    })
    .await
}

/// One due schedule: what its slot does, and its next slot.
async fn handle(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    schedule: &ScheduleRecord,
    status: &str,
    deleted: bool,
) -> Result<(), ServiceError> {
    let Some(slot) = schedule.next_at else {
        return Ok(());
    };
    let timing = match schedule.timing() {
        Ok(timing) => timing,
        Err((_, why)) => return stop(conn, schedule.id, &format!("stopped: {why}")).await,
    };
    if deleted {
        return stop(conn, schedule.id, "stopped: the deployment was deleted").await;
    }
    let after_now = next(&timing, now);
    if DeploymentStatus::parse(status) != Some(DeploymentStatus::Running) {
        let outcome = format!("skipped: the deployment was {status}");
        return moved_on(conn, schedule.id, after_now, slot, &outcome).await;
    }
    let late = now - slot;
    let missed = late > TimeDelta::from_std(MISSED_AFTER).unwrap_or(TimeDelta::MAX);
    let (fired, next_at) = if !missed {
        (slot, next(&timing, slot))
    } else if schedule.catch_up == "last" {
        let last = timing
            .last_at_or_before(cron::from_chrono(slot), cron::from_chrono(now))
            .map_or(slot, cron::to_chrono);
        (last, after_now)
    } else {
        let outcome = format!(
            "missed: no server was running at {}; catch-up is off",
            slot.format("%Y-%m-%d %H:%M UTC")
        );
        return moved_on(conn, schedule.id, after_now, slot, &outcome).await;
    };
    enqueue(
        conn,
        NewJob::new(
            FIRE_JOB,
            serde_json::json!({ "schedule": schedule.id, "slot": fired }),
        )
        .priority(1)
        .unique(slot_key(schedule.id, fired)),
    )
    .await?;
    diesel::update(schedules::table.find(schedule.id))
        .set((
            schedules::next_at.eq(next_at),
            schedules::last_slot.eq(fired),
            schedules::last_outcome.eq("queued"),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

fn next(timing: &Timing, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    timing
        .next_after(cron::from_chrono(after))
        .map(cron::to_chrono)
}

/// The run's idempotency key and the job's unique key of one slot.
fn slot_key(schedule: Uuid, slot: DateTime<Utc>) -> String {
    format!("schedule:{schedule}:{}", slot.timestamp())
}

async fn moved_on(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    next_at: Option<DateTime<Utc>>,
    slot: DateTime<Utc>,
    outcome: &str,
) -> Result<(), ServiceError> {
    diesel::update(schedules::table.find(id))
        .set((
            schedules::next_at.eq(next_at),
            schedules::last_slot.eq(slot),
            schedules::last_outcome.eq(outcome),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

async fn stop(conn: &mut AsyncPgConnection, id: Uuid, outcome: &str) -> Result<(), ServiceError> {
    diesel::update(schedules::table.find(id))
        .set((
            schedules::enabled.eq(false),
            schedules::next_at.eq(None::<DateTime<Utc>>),
            schedules::last_outcome.eq(outcome),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The earliest `next_at` of any schedule that is on, for the loop's sleep.
pub async fn next_due(services: &Services) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let mut conn = services.conn().await?;
    let next: Option<DateTime<Utc>> = schedules::table
        .filter(schedules::enabled.eq(true))
        .select(diesel::dsl::min(schedules::next_at))
        .first(&mut conn)
        .await?;
    Ok(next)
}

#[derive(serde::Deserialize)]
struct FirePayload {
    schedule: Uuid,
    slot: DateTime<Utc>,
}

/// The `schedule.fire` job: starts the slot's run as the schedule's maker,
/// under the deployment's limits, spend cap and the wallet, unless the
/// overlap policy skips it. A refusal is the schedule's last outcome, not
/// a retry; only the database's trouble is retried.
pub async fn fire(services: &Services, payload: &serde_json::Value) -> Result<(), ServiceError> {
    let FirePayload { schedule, slot } = serde_json::from_value(payload.clone())
        .map_err(|error| ServiceError::invalid("payload", error.to_string()))?;
    let mut conn = services.conn().await?;
    let Some(row) = schedules::table
        .find(schedule)
        .select(ScheduleRecord::as_select())
        .first(&mut conn)
        .await
        .optional()?
    else {
        return Ok(());
    };
    if !row.enabled {
        return Ok(());
    }
    let key = slot_key(row.id, slot);
    if row.overlap == "skip" {
        let prefix = format!("schedule:{}:", row.id);
        let going: i64 = runs::table
            .filter(runs::deployment_id.eq(row.deployment_id))
            .filter(runs::idempotency_key.like(format!("{prefix}%")))
            .filter(runs::idempotency_key.ne(&key))
            .filter(runs::status.eq_any(["queued", "running"]))
            .count()
            .get_result(&mut conn)
            .await?;
        if going > 0 {
            return record(
                &mut conn,
                row.id,
                slot,
                None,
                "skipped: the previous run is still going",
            )
            .await;
        }
    }
    let workspace = WorkspaceId(row.workspace_id);
    if access::role_of(&mut conn, UserId(row.created_by), workspace)
        .await?
        .is_none()
    {
        return super::fire::stop(
            &mut conn,
            row.id,
            "stopped: the member who made it left the workspace",
        )
        .await;
    }
    drop(conn);
    let actor = Actor::Trigger {
        user_id: UserId(row.created_by),
        workspace_id: workspace,
    };
    let request = StartRun {
        input: row.input.clone(),
        mode: Some("async".to_owned()),
    };
    let details = serde_json::json!({
        "schedule": row.id,
        "name": row.name,
        "slot": slot,
        "at": slot,
    });
    let started = crate::runs::start_triggered(
        services,
        &actor,
        row.deployment_id,
        request,
        "schedule",
        Some(details),
        Some(key),
    )
    .await;
    let mut conn = services.conn().await?;
    match started {
        Ok(started) => record(&mut conn, row.id, slot, Some(started.run.id), "started").await,
        Err(error @ (ServiceError::Internal(_) | ServiceError::Unavailable(_))) => Err(error),
        Err(refused) => {
            let outcome = format!("refused: {refused}");
            record(&mut conn, row.id, slot, None, &outcome).await
        }
    }
}

/// The slot's outcome, unless a later slot was handled meanwhile.
async fn record(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    slot: DateTime<Utc>,
    run: Option<Uuid>,
    outcome: &str,
) -> Result<(), ServiceError> {
    let outcome: String = outcome.chars().take(300).collect();
    diesel::update(
        schedules::table
            .find(id)
            .filter(schedules::last_slot.le(slot)),
    )
    .set((
        schedules::last_run_id.eq(run),
        schedules::last_outcome.eq(outcome),
    ))
    .execute(conn)
    .await?;
    Ok(())
}
