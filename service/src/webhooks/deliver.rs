//! The `webhook.deliver` job: one attempt of one delivery. It signs the
//! event's body with every secret in force, posts it (15 s at most, no
//! redirects, public addresses only unless allowed), logs the attempt with
//! the answer's status and first 4 KB, and then either marks the delivery
//! done or queues the next attempt on the retry schedule, which runs on
//! the services' clock. An endpoint failing for five days is turned off and
//! its workspace's owners are mailed.
//!
//! At least once: a worker killed mid-attempt leaves the job to be taken
//! over when its lease runs out, and the event is sent again with the same
//! `webhook-id`, which receivers use to drop duplicates.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{EndpointRecord, aad, queue_attempt, sign};
use crate::schema::{
    users, webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events,
    workspace_members, workspaces,
};
use crate::{ServiceError, Services};

pub const DELIVER_JOB: &str = "webhook.deliver";
/// The waits after each failed attempt: immediately, then 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27 hours.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// An endpoint failing this long without a success is turned off.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 86_400);
/// The part of an answer's body the log keeps.
const BODY_KEPT: usize = 4096;
const IN_FLIGHT: usize = 8;
const IN_FLIGHT_PER_WORKSPACE: usize = 4;
const IN_FLIGHT_PER_ENDPOINT: usize = 2;

/// Deliveries in flight in this process, by workspace and endpoint.
#[derive(Debug, Default)]
pub(crate) struct InFlight(std::sync::Mutex<Counts>);

/// In all, by workspace, by endpoint.
type Counts = (usize, HashMap<Uuid, usize>, HashMap<Uuid, usize>);

/// A place among the deliveries in flight, given back when dropped.
struct Slot<'a> {
    in_flight: &'a InFlight,
    workspace: Uuid,
    endpoint: Uuid,
}

impl InFlight {
    fn take(&self, workspace: Uuid, endpoint: Uuid) -> Option<Slot<'_>> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (all, by_workspace, by_endpoint) = &mut *counts;
        let in_workspace = by_workspace.get(&workspace).copied().unwrap_or(0);
        let at_endpoint = by_endpoint.get(&endpoint).copied().unwrap_or(0);
        if *all >= IN_FLIGHT
            || in_workspace >= IN_FLIGHT_PER_WORKSPACE
            || at_endpoint >= IN_FLIGHT_PER_ENDPOINT
        {
            return None;
        }
        *all += 1;
        *by_workspace.entry(workspace).or_default() += 1;
        *by_endpoint.entry(endpoint).or_default() += 1;
        Some(Slot {
            in_flight: self,
            workspace,
            endpoint,
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut counts = self.in_flight.0.lock().unwrap_or_else(|e| e.into_inner());
        let (all, by_workspace, by_endpoint) = &mut *counts;
        *all = all.saturating_sub(1);
        for (map, key) in [(by_workspace, self.workspace), (by_endpoint, self.endpoint)] {
            if let Some(count) = map.get_mut(&key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    map.remove(&key);
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct Payload {
    delivery: i64,
}

/// What came of one attempt.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    body: Option<String>,
}

pub async fn deliver(services: &Services, payload: &serde_json::Value) -> Result<(), ServiceError> {
    let Payload { delivery } = serde_json::from_value(payload.clone())
        .map_err(|error| ServiceError::invalid("payload", error.to_string()))?;
    let mut conn = services.conn().await?;
    let found: Option<(String, i32, EndpointRecord, String, serde_json::Value)> =
        webhook_deliveries::table
            .inner_join(webhook_endpoints::table)
            .inner_join(webhook_events::table)
            .filter(webhook_deliveries::id.eq(delivery))
            .select((
                webhook_deliveries::state,
                webhook_deliveries::attempts,
                EndpointRecord::as_select(),
                webhook_events::id,
                webhook_events::payload,
            ))
            .first(&mut conn)
            .await
            .optional()?;
    let Some((state, attempts, endpoint, event_id, body)) = found else {
        return Ok(());
    };
    if state != "pending" {
        return Ok(());
    }
    if !endpoint.enabled {
        return finish(&mut conn, delivery, "cancelled", None).await;
    }
    if endpoint.ordered && earlier_pending(&mut conn, endpoint.id, delivery).await? {
        // Its turn comes when the earlier one is done (`next_in_order`).
        return Ok(());
    }
    // Busy: the job is tried again after a short backoff, the attempt not
    // counted.
    let Some(_slot) = services
        .webhooks
        .in_flight
        .take(endpoint.workspace_id, endpoint.id)
    else {
        return Err(ServiceError::Unavailable(
            "webhook deliveries are busy here; tried again shortly".to_owned(),
        ));
    };
    let attempt = attempts + 1;
    diesel::update(webhook_deliveries::table.find(delivery))
        .set(webhook_deliveries::attempts.eq(attempt))
        .execute(&mut conn)
        .await?;
    let now = services.clock.now();
    let secrets = secrets(services, &endpoint, now)?;
    let body = serde_json::to_vec(&body)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("an event's body: {error}")))?;
    let timestamp = now.timestamp();
    let headers = vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", event_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            sign::header(&secrets, &event_id, timestamp, &body)?,
        ),
    ];
    drop(conn);
    let started = Instant::now();
    let answer = post(services, &endpoint.url, &headers, body).await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let succeeded = answer
        .status
        .is_some_and(|status| (200..300).contains(&status));
    // The log keeps the start of each signature only: whoever reads the
    // log cannot replay the delivery within the receivers' five minutes.
    let logged: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| {
            let value = if *name == "webhook-signature" {
                value
                    .split(' ')
                    .map(|signature| format!("{}…", signature.chars().take(11).collect::<String>()))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                value.clone()
            };
            ((*name).to_owned(), serde_json::Value::from(value))
        })
        .collect();
    let mut conn = services.conn().await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(delivery),
                webhook_attempts::attempt.eq(attempt),
                webhook_attempts::started_at.eq(now),
                webhook_attempts::duration_ms.eq(duration_ms),
                webhook_attempts::status.eq(answer.status.map(i32::from)),
                webhook_attempts::error.eq(&answer.error),
                webhook_attempts::response_body.eq(&answer.body),
                webhook_attempts::request_headers.eq(serde_json::Value::Object(logged)),
            ))
            .execute(conn)
            .await?;
        diesel::update(webhook_deliveries::table.find(delivery))
            .set(webhook_deliveries::last_status.eq(answer.status.map(i32::from)))
            .execute(conn)
            .await?;
        if succeeded {
            diesel::update(webhook_endpoints::table.find(endpoint.id))
                .set(webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>))
                .execute(conn)
                .await?;
            finish(conn, delivery, "succeeded", Some(&endpoint)).await
        } else {
            failed(services, conn, &endpoint, delivery, attempt, now).await
        }
    })
    .await
}

/// The secrets signing now: the current one, and the previous one during
/// its overlap.
fn secrets(
    services: &Services,
    endpoint: &EndpointRecord,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ServiceError> {
    let sealer = super::sealer(services)?;
    let open = |sealed: &[u8]| -> Result<String, ServiceError> {
        String::from_utf8(sealer.open_bytes(&aad(endpoint.id), sealed)?)
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("a webhook secret is not text")))
    };
    let mut secrets = vec![open(&endpoint.secret)?];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
        && until > now
    {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}

async fn post(services: &Services, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
    let refused = |why: String| Answer {
        status: None,
        error: Some(why),
        body: None,
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(_) => return refused("the URL does not parse".to_owned()),
    };
    if !services.webhooks.allow_private {
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(address)) => Some(std::net::IpAddr::V4(address)),
            Some(url::Host::Ipv6(address)) => Some(std::net::IpAddr::V6(address)),
            _ => None,
        };
        if literal.is_some_and(|address| !runtime::http::is_public(address)) {
            return refused("refused: the destination is not a public address".to_owned());
        }
    }
    let mut request = services.webhooks.client.post(parsed);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut response = match request.body(body).send().await {
        Ok(response) => response,
        Err(error) if runtime::http::failed_as_not_public(&error) => {
            return refused(
                "refused: the destination resolves only to addresses that are not public"
                    .to_owned(),
            );
        }
        Err(error) if error.is_timeout() => return refused("no answer within 15 s".to_owned()),
        Err(error) if error.is_connect() => {
            return refused("the connection was refused".to_owned());
        }
        Err(_) => return refused("the request failed".to_owned()),
    };
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    while kept.len() < BODY_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(BODY_KEPT);
    Answer {
        status: Some(status),
        error: (!(200..300).contains(&status)).then(|| {
            if (300..400).contains(&status) {
                format!("answered {status}: redirects are not followed")
            } else {
                format!("answered {status}")
            }
        }),
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
    }
}

async fn failed(
    services: &Services,
    conn: &mut AsyncPgConnection,
    endpoint: &EndpointRecord,
    delivery: i64,
    attempt: i32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let failing_since = endpoint.failing_since.unwrap_or(now);
    diesel::update(webhook_endpoints::table.find(endpoint.id))
        .set(webhook_endpoints::failing_since.eq(failing_since))
        .execute(conn)
        .await?;
    if now - failing_since >= TimeDelta::from_std(DISABLE_AFTER).unwrap_or(TimeDelta::MAX) {
        return disable(services, conn, endpoint, delivery).await;
    }
    let Some(wait) = usize::try_from(attempt - 1)
        .ok()
        .and_then(|index| RETRY_DELAYS.get(index))
    else {
        return finish(conn, delivery, "failed", Some(endpoint)).await;
    };
    let at = now + TimeDelta::from_std(*wait).unwrap_or(TimeDelta::MAX);
    diesel::update(webhook_deliveries::table.find(delivery))
        .set(webhook_deliveries::next_attempt_at.eq(at))
        .execute(conn)
        .await?;
    queue_attempt(conn, delivery, attempt + 1, Some(at)).await
}

/// Five days of failures: the endpoint is turned off, what waits for it is
/// cancelled, and the workspace's owners hear of it.
async fn disable(
    services: &Services,
    conn: &mut AsyncPgConnection,
    endpoint: &EndpointRecord,
    delivery: i64,
) -> Result<(), ServiceError> {
    finish(conn, delivery, "failed", None).await?;
    let reason = "turned off after five days of failed deliveries";
    let changed = diesel::update(
        webhook_endpoints::table
            .find(endpoint.id)
            .filter(webhook_endpoints::enabled.eq(true)),
    )
    .set((
        webhook_endpoints::enabled.eq(false),
        webhook_endpoints::disabled_reason.eq(reason),
    ))
    .execute(conn)
    .await?;
    if changed == 0 {
        return Ok(());
    }
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.id))
            .filter(webhook_deliveries::state.eq("pending")),
    )
    .set((
        webhook_deliveries::state.eq("cancelled"),
        webhook_deliveries::finished_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    let (slug, name): (String, String) = workspaces::table
        .find(endpoint.workspace_id)
        .select((workspaces::slug, workspaces::name))
        .first(conn)
        .await?;
    let owners: Vec<(Option<String>, String)> = workspace_members::table
        .inner_join(users::table)
        .filter(workspace_members::workspace_id.eq(endpoint.workspace_id))
        .filter(workspace_members::role.eq("owner"))
        .select((users::email, users::display_name))
        .load(conn)
        .await?;
    let link = format!("{}/settings/webhooks?workspace={slug}", services.public_url);
    for (email, owner) in owners {
        let Some(email) = email else { continue };
        let mail =
            crate::mail::templates::webhook_disabled(&email, &owner, &name, &endpoint.url, &link);
        crate::mail::enqueue(conn, &mail).await?;
    }
    tracing::info!(endpoint = %endpoint.id, "a webhook endpoint was turned off after five days of failures");
    Ok(())
}

async fn finish(
    conn: &mut AsyncPgConnection,
    delivery: i64,
    state: &str,
    ordered: Option<&EndpointRecord>,
) -> Result<(), ServiceError> {
    diesel::update(webhook_deliveries::table.find(delivery))
        .set((
            webhook_deliveries::state.eq(state),
            webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
            webhook_deliveries::finished_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    if let Some(endpoint) = ordered.filter(|endpoint| endpoint.ordered) {
        next_in_order(conn, endpoint.id).await?;
    }
    Ok(())
}

async fn earlier_pending(
    conn: &mut AsyncPgConnection,
    endpoint: Uuid,
    delivery: i64,
) -> Result<bool, ServiceError> {
    let earlier: Option<i64> = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .filter(webhook_deliveries::state.eq("pending"))
        .filter(webhook_deliveries::id.lt(delivery))
        .select(webhook_deliveries::id)
        .first(conn)
        .await
        .optional()?;
    Ok(earlier.is_some())
}

/// An ordered endpoint's next pending delivery gets its attempt queued.
async fn next_in_order(conn: &mut AsyncPgConnection, endpoint: Uuid) -> Result<(), ServiceError> {
    let next: Option<(i64, i32)> = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .filter(webhook_deliveries::state.eq("pending"))
        .order(webhook_deliveries::id)
        .select((webhook_deliveries::id, webhook_deliveries::attempts))
        .first(conn)
        .await
        .optional()?;
    if let Some((next, attempts)) = next {
        queue_attempt(conn, next, attempts + 1, None).await?;
    }
    Ok(())
}
