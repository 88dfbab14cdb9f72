//! Schedules: a deployment run by the clock (`cron.rs` says when, `fire.rs`
//! fires). Members and up of the deployment's workspace make, change and
//! delete them (keys with `deployments:write`); anyone who may see the
//! deployment lists them. Each change is audited.

pub mod cron;
mod fire;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::action;
use crate::deployments::{self, DeploymentRecord};
use crate::schema::{agent_versions, schedules};
use crate::{ServiceError, Services};
use cron::Timing;
use types::account::Scope;
use types::triggers::{
    CatchUp, NewSchedule, Overlap, Schedule, ScheduleChange, SchedulePreview,
    SchedulePreviewRequest,
};

pub use fire::{FIRE_JOB, MISSED_AFTER, fire, fire_due, next_due};

/// Schedules one deployment may have.
pub const MAX_PER_DEPLOYMENT: i64 = 20;
const MAX_NAME_CHARS: usize = 80;
const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Slots shown ahead.
const UPCOMING: usize = 5;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = schedules)]
pub(crate) struct ScheduleRecord {
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub workspace_id: Uuid,
    pub created_by: Uuid,
    pub name: String,
    pub cron: Option<String>,
    pub time_zone: String,
    pub every_seconds: Option<i64>,
    pub input: serde_json::Value,
    pub enabled: bool,
    pub overlap: String,
    pub catch_up: String,
    pub next_at: Option<DateTime<Utc>>,
    pub last_slot: Option<DateTime<Utc>>,
    pub last_run_id: Option<Uuid>,
    pub last_outcome: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ScheduleRecord {
    fn timing(&self) -> Result<Timing, (&'static str, String)> {
        Timing::new(self.cron.as_deref(), &self.time_zone, self.every_seconds)
    }

    fn view(&self) -> Schedule {
        let upcoming = match (self.enabled, self.next_at, self.timing()) {
            (true, Some(next), Ok(timing)) => {
                let mut slots = vec![next];
                slots.extend(
                    timing
                        .upcoming(cron::from_chrono(next), UPCOMING - 1)
                        .into_iter()
                        .map(cron::to_chrono),
                );
                slots
            }
            _ => Vec::new(),
        };
        Schedule {
            id: self.id,
            deployment_id: self.deployment_id,
            name: self.name.clone(),
            cron: self.cron.clone(),
            time_zone: self.time_zone.clone(),
            every_seconds: self.every_seconds,
            input: self.input.clone(),
            enabled: self.enabled,
            overlap: if self.overlap == "allow" {
                Overlap::Allow
            } else {
                Overlap::Skip
            },
            catch_up: if self.catch_up == "last" {
                CatchUp::Last
            } else {
                CatchUp::None
            },
            upcoming,
            last_slot: self.last_slot,
            last_run_id: self.last_run_id,
            last_outcome: self.last_outcome.clone(),
            created_at: self.created_at,
        }
    }
}

/// A deployment's schedules, oldest first.
pub async fn list(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
) -> Result<Vec<Schedule>, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = deployments::visible(&mut conn, actor, deployment).await?;
    let rows: Vec<ScheduleRecord> = schedules::table
        .filter(schedules::deployment_id.eq(record.id))
        .order((schedules::created_at, schedules::id))
        .select(ScheduleRecord::as_select())
        .load(&mut conn)
        .await?;
    Ok(rows.iter().map(ScheduleRecord::view).collect())
}

/// The next five slots of a cron expression or interval (anyone signed in;
/// keys that look at deployments).
pub fn preview(
    services: &Services,
    actor: &Actor,
    request: &SchedulePreviewRequest,
) -> Result<SchedulePreview, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    actor.require_user()?;
    let timing = timing_of(
        request.cron.as_deref(),
        request.time_zone.as_deref(),
        request.every_seconds,
    )?;
    let now = cron::from_chrono(services.clock.now());
    Ok(SchedulePreview {
        upcoming: timing
            .upcoming(now, UPCOMING)
            .into_iter()
            .map(cron::to_chrono)
            .collect(),
    })
}

fn timing_of(
    cron: Option<&str>,
    time_zone: Option<&str>,
    every_seconds: Option<i64>,
) -> Result<Timing, ServiceError> {
    Timing::new(cron, time_zone.unwrap_or("UTC"), every_seconds)
        .map_err(|(field, why)| ServiceError::invalid(field, why))
}

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must not hold control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The input against the deployment's input schema, as a run would check it.
async fn check_input(
    services: &Services,
    conn: &mut AsyncPgConnection,
    deployment: &DeploymentRecord,
    input: &serde_json::Value,
) -> Result<(), ServiceError> {
    let size = serde_json::to_string(input).map_or(usize::MAX, |text| text.len());
    if size > MAX_INPUT_BYTES {
        return Err(ServiceError::invalid(
            "input",
            "must be at most 64 KiB of JSON",
        ));
    }
    let manifest: serde_json::Value = agent_versions::table
        .find(deployment.version_id)
        .select(agent_versions::manifest)
        .first(conn)
        .await?;
    let kept = services
        .input_schemas
        .keep(deployment.id, deployment.version_id, &manifest);
    crate::runs::input::check(kept.schema.as_ref(), input, size).await
}

/// The slot after now, for a schedule turned on or retimed.
fn first_slot(services: &Services, timing: &Timing) -> Option<DateTime<Utc>> {
    timing
        .next_after(cron::from_chrono(services.clock.now()))
        .map(cron::to_chrono)
}

/// Adds a schedule to a deployment (members and up).
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    new: NewSchedule,
) -> Result<Schedule, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let name = check_name(&new.name)?;
    let time_zone = new.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
    let timing = timing_of(new.cron.as_deref(), Some(&time_zone), new.every_seconds)?;
    let input = new.input.unwrap_or_else(|| serde_json::json!({}));
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    check_input(services, &mut conn, &record, &input).await?;
    let count: i64 = schedules::table
        .filter(schedules::deployment_id.eq(record.id))
        .count()
        .get_result(&mut conn)
        .await?;
    if count >= MAX_PER_DEPLOYMENT {
        return Err(ServiceError::Conflict {
            field: "schedules",
            message: format!("a deployment has at most {MAX_PER_DEPLOYMENT} schedules"),
        });
    }
    let enabled = new.enabled.unwrap_or(true);
    let id = Uuid::new_v4();
    let row: ScheduleRecord = diesel::insert_into(schedules::table)
        .values((
            schedules::id.eq(id),
            schedules::deployment_id.eq(record.id),
            schedules::workspace_id.eq(record.workspace_id),
            schedules::created_by.eq(user.0),
            schedules::name.eq(&name),
            schedules::cron.eq(new.cron.as_deref().map(str::trim)),
            schedules::time_zone.eq(&time_zone),
            schedules::every_seconds.eq(new.every_seconds),
            schedules::input.eq(&input),
            schedules::enabled.eq(enabled),
            schedules::overlap.eq(new.overlap.unwrap_or_default().as_str()),
            schedules::catch_up.eq(new.catch_up.unwrap_or_default().as_str()),
            schedules::next_at.eq(enabled.then(|| first_slot(services, &timing)).flatten()),
        ))
        .returning(ScheduleRecord::as_returning())
        .get_result(&mut conn)
        .await?;
    audit(&mut conn, actor, meta, action::SCHEDULE_CREATED, &row).await?;
    Ok(row.view())
}

/// Changes a schedule (members and up); a new timing or turning it on
/// starts from the next slot after now.
pub async fn change(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: Uuid,
    change: ScheduleChange,
) -> Result<Schedule, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let name = change.name.as_deref().map(check_name).transpose()?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let mut row = owned(&mut conn, record.id, id).await?;
    if let Some(input) = &change.input {
        check_input(services, &mut conn, &record, input).await?;
        row.input = input.clone();
    }
    let retimed = change.cron.is_some()
        || change.every_seconds.is_some()
        || change.time_zone.is_some()
        || change.enabled == Some(true) && !row.enabled;
    match (&change.cron, change.every_seconds) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "cron",
                "give either a cron expression or every_seconds, not both",
            ));
        }
        (Some(cron), None) => {
            row.cron = Some(cron.trim().to_owned());
            row.every_seconds = None;
        }
        (None, Some(seconds)) => {
            row.cron = None;
            row.every_seconds = Some(seconds);
        }
        (None, None) => {}
    }
    if let Some(zone) = &change.time_zone {
        row.time_zone = zone.clone();
    }
    let timing = row
        .timing()
        .map_err(|(field, why)| ServiceError::invalid(field, why))?;
    row.enabled = change.enabled.unwrap_or(row.enabled);
    if let Some(name) = name {
        row.name = name;
    }
    if let Some(overlap) = change.overlap {
        row.overlap = overlap.as_str().to_owned();
    }
    if let Some(catch_up) = change.catch_up {
        row.catch_up = catch_up.as_str().to_owned();
    }
    row.next_at = if !row.enabled {
        None
    } else if retimed || row.next_at.is_none() {
        first_slot(services, &timing)
    } else {
        row.next_at
    };
    let row: ScheduleRecord = diesel::update(schedules::table.find(row.id))
        .set((
            schedules::name.eq(&row.name),
            schedules::cron.eq(&row.cron),
            schedules::time_zone.eq(&row.time_zone),
            schedules::every_seconds.eq(row.every_seconds),
            schedules::input.eq(&row.input),
            schedules::enabled.eq(row.enabled),
            schedules::overlap.eq(&row.overlap),
            schedules::catch_up.eq(&row.catch_up),
            schedules::next_at.eq(row.next_at),
            schedules::updated_at.eq(Utc::now()),
        ))
        .returning(ScheduleRecord::as_returning())
        .get_result(&mut conn)
        .await?;
    audit(&mut conn, actor, meta, action::SCHEDULE_CHANGED, &row).await?;
    Ok(row.view())
}

/// Deletes a schedule (members and up): it fires no more.
pub async fn delete(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: Uuid,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    diesel::delete(schedules::table.find(row.id))
        .execute(&mut conn)
        .await?;
    audit(&mut conn, actor, meta, action::SCHEDULE_DELETED, &row).await
}

async fn owned(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    id: Uuid,
) -> Result<ScheduleRecord, ServiceError> {
    schedules::table
        .find(id)
        .filter(schedules::deployment_id.eq(deployment))
        .select(ScheduleRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "schedule" })
}

async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    what: &'static str,
    row: &ScheduleRecord,
) -> Result<(), ServiceError> {
    deployments::audit_deployment(
        conn,
        actor,
        meta,
        what,
        types::WorkspaceId(row.workspace_id),
        row.deployment_id,
        serde_json::json!({
            "schedule": row.id,
            "name": row.name,
            "cron": row.cron,
            "time_zone": row.time_zone,
            "every_seconds": row.every_seconds,
            "enabled": row.enabled,
        }),
    )
    .await
}
