//! The delivery log of an endpoint (anyone in its workspace with
//! `runs:read`: the bodies carry runs' outputs) and redelivery (admins and
//! owners with `webhooks:write`).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{endpoint_for, queue_attempt};
use crate::actor::Actor;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_events};
use crate::{ServiceError, Services};
use types::account::{Role, Scope};
use types::webhooks::{Redelivered, WebhookAttempt, WebhookDelivery};

/// Deliveries listed at once, at most.
const MAX_LISTED: i64 = 100;
/// Failed deliveries queued again by one "redeliver since", at most.
const MAX_REDELIVERED: i64 = 1000;

type DeliveryRow = (
    i64,
    String,
    String,
    String,
    i32,
    Option<chrono::DateTime<Utc>>,
    serde_json::Value,
    chrono::DateTime<Utc>,
);

/// The endpoint's deliveries, newest first, each with its attempts;
/// `state` filters (`pending`, `succeeded`, `failed`, `cancelled`).
pub async fn deliveries(
    services: &Services,
    actor: &Actor,
    endpoint: Uuid,
    state: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<WebhookDelivery>, ServiceError> {
    actor.require_scope(Scope::RunsRead)?;
    if let Some(state) = state
        && !["pending", "succeeded", "failed", "cancelled"].contains(&state)
    {
        return Err(ServiceError::invalid(
            "state",
            "must be pending, succeeded, failed or cancelled",
        ));
    }
    let limit = limit.unwrap_or(50).clamp(1, MAX_LISTED);
    let mut conn = services.conn().await?;
    endpoint_for(&mut conn, actor, endpoint, Role::Viewer).await?;
    let mut query = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(webhook_deliveries::state.eq(state.to_owned()));
    }
    let rows: Vec<DeliveryRow> = query
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(columns())
        .load(&mut conn)
        .await?;
    with_attempts(&mut conn, rows).await
}

#[allow(clippy::type_complexity)]
fn columns() -> (
    webhook_deliveries::id,
    webhook_deliveries::event_id,
    webhook_events::event_type,
    webhook_deliveries::state,
    webhook_deliveries::attempts,
    webhook_deliveries::next_attempt_at,
    webhook_events::payload,
    webhook_deliveries::created_at,
) {
    (
        webhook_deliveries::id,
        webhook_deliveries::event_id,
        webhook_events::event_type,
        webhook_deliveries::state,
        webhook_deliveries::attempts,
        webhook_deliveries::next_attempt_at,
        webhook_events::payload,
        webhook_deliveries::created_at,
    )
}

async fn with_attempts(
    conn: &mut AsyncPgConnection,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<WebhookDelivery>, ServiceError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    #[allow(clippy::type_complexity)]
    let attempts: Vec<(
        i64,
        i32,
        chrono::DateTime<Utc>,
        i32,
        Option<i32>,
        Option<String>,
        Option<String>,
        serde_json::Value,
    )> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::id))
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::attempt,
            webhook_attempts::started_at,
            webhook_attempts::duration_ms,
            webhook_attempts::status,
            webhook_attempts::error,
            webhook_attempts::response_body,
            webhook_attempts::request_headers,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                event_id,
                event_type,
                state,
                attempts_made,
                next_attempt_at,
                payload,
                created_at,
            )| {
                WebhookDelivery {
                    id,
                    event_id,
                    event_type,
                    state,
                    attempts: attempts_made,
                    next_attempt_at,
                    payload,
                    created_at,
                    attempt_log: attempts
                        .iter()
                        .filter(|attempt| attempt.0 == id)
                        .map(|attempt| WebhookAttempt {
                            attempt: attempt.1,
                            started_at: attempt.2,
                            duration_ms: attempt.3,
                            status: attempt.4,
                            error: attempt.5.clone(),
                            response_body: attempt.6.clone(),
                            request_headers: attempt.7.clone(),
                        })
                        .collect(),
                }
            },
        )
        .collect())
}

/// One delivery with its attempts.
pub(crate) async fn one(
    conn: &mut AsyncPgConnection,
    delivery: i64,
) -> Result<WebhookDelivery, ServiceError> {
    let rows: Vec<DeliveryRow> = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::id.eq(delivery))
        .select(columns())
        .load(conn)
        .await?;
    with_attempts(conn, rows)
        .await?
        .pop()
        .ok_or(ServiceError::NotFound { what: "delivery" })
}

/// Sends a finished delivery again, with the same `webhook-id`; its
/// attempts go on counting (admins and owners).
pub async fn redeliver(
    services: &Services,
    actor: &Actor,
    delivery: i64,
) -> Result<WebhookDelivery, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let mut conn = services.conn().await?;
    let (endpoint, state, attempts): (Uuid, String, i32) = webhook_deliveries::table
        .find(delivery)
        .select((
            webhook_deliveries::endpoint_id,
            webhook_deliveries::state,
            webhook_deliveries::attempts,
        ))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "delivery" })?;
    let record = endpoint_for(&mut conn, actor, endpoint, Role::Admin)
        .await
        .map_err(|error| match error {
            ServiceError::NotFound { .. } => ServiceError::NotFound { what: "delivery" },
            other => other,
        })?;
    if !record.enabled {
        return Err(ServiceError::Conflict {
            field: "endpoint",
            message: "the endpoint is turned off; turn it on to send to it".to_owned(),
        });
    }
    if state == "pending" {
        return Err(ServiceError::Conflict {
            field: "delivery",
            message: "this delivery is still being tried".to_owned(),
        });
    }
    conn.transaction::<_, ServiceError, _>(async |conn| {
        again(conn, delivery, attempts, services.clock.now()).await
    })
    .await?;
    one(&mut conn, delivery).await
}

async fn again(
    conn: &mut AsyncPgConnection,
    delivery: i64,
    attempts: i32,
    now: chrono::DateTime<Utc>,
) -> Result<(), ServiceError> {
    diesel::update(webhook_deliveries::table.find(delivery))
        .set((
            webhook_deliveries::state.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::finished_at.eq(None::<chrono::DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    queue_attempt(conn, delivery, attempts + 1, None).await
}

/// Sends again every failed delivery of the endpoint made since `since`
/// (at most 1,000; admins and owners).
pub async fn redeliver_failed(
    services: &Services,
    actor: &Actor,
    endpoint: Uuid,
    since: chrono::DateTime<Utc>,
) -> Result<Redelivered, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let mut conn = services.conn().await?;
    let record = endpoint_for(&mut conn, actor, endpoint, Role::Admin).await?;
    if !record.enabled {
        return Err(ServiceError::Conflict {
            field: "endpoint",
            message: "the endpoint is turned off; turn it on to send to it".to_owned(),
        });
    }
    let now = services.clock.now();
    let queued = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let failed: Vec<(i64, i32)> = webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .filter(webhook_deliveries::state.eq("failed"))
                .filter(webhook_deliveries::created_at.ge(since))
                .order(webhook_deliveries::id)
                .limit(MAX_REDELIVERED)
                .select((webhook_deliveries::id, webhook_deliveries::attempts))
                .for_update()
                .load(conn)
                .await?;
            for (delivery, attempts) in &failed {
                again(conn, *delivery, *attempts, now).await?;
            }
            Ok(failed.len())
        })
        .await?;
    Ok(Redelivered {
        queued: i64::try_from(queued).unwrap_or(i64::MAX),
    })
}
