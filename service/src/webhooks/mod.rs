//! Outgoing webhooks: a workspace's endpoints (admins and owners manage
//! them: each one sends the workspace's data to a URL outside), their
//! secrets, test events, the delivery log (anyone in the workspace, as
//! runs are) and redelivery. Events are emitted by the database
//! (migration 000032, `webhook_emit`); `deliver.rs` sends them.

mod deliver;
pub mod destination;
mod log;
pub mod sign;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::{self, Entry, action};
use crate::jobs::{NewJob, enqueue};
use crate::schema::{
    deployments, webhook_deliveries, webhook_endpoints, webhook_events, workspaces,
};
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::webhooks::{
    EVENT_TYPES, NewWebhookEndpoint, RotateSecret, TEST_EVENT, WebhookDelivery, WebhookEndpoint,
    WebhookEndpointChange, WebhookEndpointWithSecret,
};

pub use deliver::{DELIVER_JOB, DISABLE_AFTER, RETRY_DELAYS, deliver};
pub use log::{deliveries, redeliver, redeliver_failed};

/// Endpoints one workspace may have.
pub const MAX_PER_WORKSPACE: i64 = 20;
const MAX_DESCRIPTION_CHARS: usize = 200;
/// How long a rotated-out secret keeps signing, unless the caller says.
const DEFAULT_OVERLAP: TimeDelta = TimeDelta::days(1);
const MAX_OVERLAP_SECS: i64 = 7 * 86_400;
/// Test events one endpoint may be sent per minute.
const TESTS_PER_MINUTE: i64 = 5;

/// How deliveries leave this server.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Loopback and private destinations too (`AGENTDECK_WEBHOOKS_PRIVATE`).
    pub allow_private: bool,
    pub client: reqwest::Client,
    /// Deliveries in flight in this process, so that slow receivers never
    /// hold more than a few of the worker's slots (runs and mail keep the
    /// rest): 8 in all, 4 per workspace, 2 per endpoint.
    pub(crate) in_flight: std::sync::Arc<deliver::InFlight>,
}

impl WebhookSettings {
    pub fn new(allow_private: bool) -> Self {
        let client = runtime::http::outbound_client(allow_private)
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Agentdeck-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            allow_private,
            client,
            in_flight: std::sync::Arc::default(),
        }
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self::new(false)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub(crate) struct EndpointRecord {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub deployment_id: Option<Uuid>,
    pub ordered: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An endpoint's URL as members below admin see it: its origin only (paths
/// and queries often carry a receiver's credentials).
fn masked(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.path() != "/" || parsed.query().is_some() => {
            format!("{}/…", parsed.origin().ascii_serialization())
        }
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => "…".to_owned(),
    }
}

impl EndpointRecord {
    fn view(&self, workspace: &str, now: DateTime<Utc>) -> WebhookEndpoint {
        WebhookEndpoint {
            id: self.id,
            workspace: workspace.to_owned(),
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: self.event_types.clone(),
            deployment_id: self.deployment_id,
            ordered: self.ordered,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.clone(),
            failing_since: self.failing_since,
            previous_secret_until: self.previous_until.filter(|until| *until > now),
            created_at: self.created_at,
        }
    }
}

/// The associated data a secret is sealed with: its endpoint.
fn aad(endpoint: Uuid) -> Vec<u8> {
    format!("webhook-endpoint:{endpoint}").into_bytes()
}

fn sealer(services: &Services) -> Result<&crate::secrets::SecretBox, ServiceError> {
    services.secrets.as_deref().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })
}

/// Keys listing endpoints hold `webhooks:write` or `runs:read`.
fn require_read_scope(actor: &Actor) -> Result<(), ServiceError> {
    actor
        .check_key_scope(Scope::WebhooksWrite)
        .or_else(|_| actor.check_key_scope(Scope::RunsRead))?;
    actor.require_user().map(drop)
}

async fn slug_of(conn: &mut AsyncPgConnection, workspace: Uuid) -> Result<String, ServiceError> {
    Ok(workspaces::table
        .find(workspace)
        .select(workspaces::slug)
        .first(conn)
        .await?)
}

/// The endpoint, if the caller is in its workspace with at least `least`
/// (404 for strangers, 403 for too small a role).
pub(crate) async fn endpoint_for(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    least: Role,
) -> Result<EndpointRecord, ServiceError> {
    let record: EndpointRecord = webhook_endpoints::table
        .find(id)
        .select(EndpointRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound {
            what: "webhook endpoint",
        })?;
    // One membership read: strangers learn nothing (404), members with too
    // small a role why not (403).
    access::require_role(conn, actor, WorkspaceId(record.workspace_id), least)
        .await
        .map_err(|error| match error {
            ServiceError::NotFound { .. } => ServiceError::NotFound {
                what: "webhook endpoint",
            },
            other => other,
        })?;
    Ok(record)
}

fn check_event_types(types: &[String]) -> Result<Vec<String>, ServiceError> {
    if types.is_empty() {
        return Err(ServiceError::invalid(
            "event_types",
            format!("must name one or more of: {}", EVENT_TYPES.join(", ")),
        ));
    }
    let mut chosen: Vec<String> = Vec::new();
    for kind in types {
        if !EVENT_TYPES.contains(&kind.as_str()) {
            return Err(ServiceError::invalid(
                "event_types",
                format!(
                    "`{kind}` is not an event type; the types are {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !chosen.contains(kind) {
            chosen.push(kind.clone());
        }
    }
    Ok(chosen)
}

fn check_description(description: &str) -> Result<String, ServiceError> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS
        || description.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid(
            "description",
            format!(
                "must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters"
            ),
        ));
    }
    Ok(description.to_owned())
}

async fn check_deployment(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    deployment: Uuid,
) -> Result<(), ServiceError> {
    let found: Option<Uuid> = deployments::table
        .find(deployment)
        .filter(deployments::workspace_id.eq(workspace))
        .filter(deployments::deleted_at.is_null())
        .select(deployments::id)
        .first(conn)
        .await
        .optional()?;
    found.map(drop).ok_or_else(|| {
        ServiceError::invalid("deployment_id", "is not a deployment of this workspace")
    })
}

/// A workspace's endpoints, oldest first (anyone in it).
pub async fn list(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
) -> Result<Vec<WebhookEndpoint>, ServiceError> {
    require_read_scope(actor)?;
    let mut conn = services.conn().await?;
    let workspace = access::named_workspace(&mut conn, actor, workspace).await?;
    let role = access::member(&mut conn, actor, workspace).await?;
    let slug = slug_of(&mut conn, workspace.0).await?;
    let rows: Vec<EndpointRecord> = webhook_endpoints::table
        .filter(webhook_endpoints::workspace_id.eq(workspace.0))
        .order((webhook_endpoints::created_at, webhook_endpoints::id))
        .select(EndpointRecord::as_select())
        .load(&mut conn)
        .await?;
    let now = services.clock.now();
    Ok(rows
        .iter()
        .map(|row| shown(row.view(&slug, now), role))
        .collect())
}

/// What `role` sees of an endpoint: the whole URL for admins and owners.
fn shown(mut endpoint: WebhookEndpoint, role: Role) -> WebhookEndpoint {
    if role < Role::Admin {
        endpoint.url = masked(&endpoint.url);
    }
    endpoint
}

/// One endpoint (anyone in its workspace).
pub async fn show(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<WebhookEndpoint, ServiceError> {
    require_read_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = endpoint_for(&mut conn, actor, id, Role::Viewer).await?;
    let role = access::member(&mut conn, actor, WorkspaceId(record.workspace_id)).await?;
    let slug = slug_of(&mut conn, record.workspace_id).await?;
    Ok(shown(record.view(&slug, services.clock.now()), role))
}

/// Adds an endpoint (admins and owners); its secret is answered once.
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    new: NewWebhookEndpoint,
) -> Result<WebhookEndpointWithSecret, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let user = actor.require_user()?;
    let sealer = sealer(services)?;
    let event_types = check_event_types(&new.event_types)?;
    let description = check_description(new.description.as_deref().unwrap_or(""))?;
    let url = destination::check(&new.url, services.webhooks.allow_private).await?;
    let mut conn = services.conn().await?;
    let workspace = access::named_workspace(&mut conn, actor, new.workspace.as_deref()).await?;
    access::require_role(&mut conn, actor, workspace, Role::Admin).await?;
    if let Some(deployment) = new.deployment_id {
        check_deployment(&mut conn, workspace.0, deployment).await?;
    }
    let count: i64 = webhook_endpoints::table
        .filter(webhook_endpoints::workspace_id.eq(workspace.0))
        .count()
        .get_result(&mut conn)
        .await?;
    if count >= MAX_PER_WORKSPACE {
        return Err(ServiceError::Conflict {
            field: "endpoints",
            message: format!("a workspace has at most {MAX_PER_WORKSPACE} webhook endpoints"),
        });
    }
    let id = Uuid::new_v4();
    let secret = sign::new_secret()?;
    let sealed = sealer.seal_bytes(&aad(id), secret.as_bytes())?;
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let record: EndpointRecord = diesel::insert_into(webhook_endpoints::table)
                .values((
                    webhook_endpoints::id.eq(id),
                    webhook_endpoints::workspace_id.eq(workspace.0),
                    webhook_endpoints::url.eq(&url),
                    webhook_endpoints::description.eq(&description),
                    webhook_endpoints::event_types.eq(&event_types),
                    webhook_endpoints::deployment_id.eq(new.deployment_id),
                    webhook_endpoints::ordered.eq(new.ordered.unwrap_or(false)),
                    webhook_endpoints::secret.eq(&sealed),
                    webhook_endpoints::created_by.eq(user.0),
                ))
                .returning(EndpointRecord::as_returning())
                .get_result(conn)
                .await?;
            audit_endpoint(conn, actor, meta, action::WEBHOOK_CREATED, &record).await?;
            Ok(record)
        })
        .await?;
    let slug = slug_of(&mut conn, workspace.0).await?;
    Ok(WebhookEndpointWithSecret {
        endpoint: record.view(&slug, services.clock.now()),
        secret,
    })
}

/// Changes an endpoint (admins and owners). Turning it on again forgets
/// its failures.
pub async fn change(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    change: WebhookEndpointChange,
) -> Result<WebhookEndpoint, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let url = match &change.url {
        Some(url) => Some(destination::check(url, services.webhooks.allow_private).await?),
        None => None,
    };
    let event_types = change
        .event_types
        .as_deref()
        .map(check_event_types)
        .transpose()?;
    let description = change
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    let mut conn = services.conn().await?;
    let mut record = endpoint_for(&mut conn, actor, id, Role::Admin).await?;
    if let Some(deployment) = change.deployment_id {
        check_deployment(&mut conn, record.workspace_id, deployment).await?;
        record.deployment_id = Some(deployment);
    } else if change.all_deployments == Some(true) {
        record.deployment_id = None;
    }
    record.url = url.unwrap_or(record.url);
    record.event_types = event_types.unwrap_or(record.event_types);
    record.description = description.unwrap_or(record.description);
    record.ordered = change.ordered.unwrap_or(record.ordered);
    let turned_on = change.enabled == Some(true) && !record.enabled;
    if let Some(enabled) = change.enabled {
        record.enabled = enabled;
        record.disabled_reason = (!enabled).then(|| "turned off".to_owned());
    }
    if turned_on {
        record.failing_since = None;
    }
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let record: EndpointRecord = diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::url.eq(&record.url),
                    webhook_endpoints::description.eq(&record.description),
                    webhook_endpoints::event_types.eq(&record.event_types),
                    webhook_endpoints::deployment_id.eq(record.deployment_id),
                    webhook_endpoints::ordered.eq(record.ordered),
                    webhook_endpoints::enabled.eq(record.enabled),
                    webhook_endpoints::disabled_reason.eq(&record.disabled_reason),
                    webhook_endpoints::failing_since.eq(record.failing_since),
                    webhook_endpoints::updated_at.eq(Utc::now()),
                ))
                .returning(EndpointRecord::as_returning())
                .get_result(conn)
                .await?;
            if !record.enabled {
                // What waits for it would never go (an ordered endpoint's
                // line would stay stuck): cancelled, and redeliverable.
                diesel::update(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::endpoint_id.eq(id))
                        .filter(webhook_deliveries::state.eq("pending")),
                )
                .set((
                    webhook_deliveries::state.eq("cancelled"),
                    webhook_deliveries::finished_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            }
            audit_endpoint(conn, actor, meta, action::WEBHOOK_CHANGED, &record).await?;
            Ok(record)
        })
        .await?;
    let slug = slug_of(&mut conn, record.workspace_id).await?;
    Ok(record.view(&slug, services.clock.now()))
}

/// Deletes an endpoint and its log (admins and owners).
pub async fn delete(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let mut conn = services.conn().await?;
    let record = endpoint_for(&mut conn, actor, id, Role::Admin).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::delete(webhook_endpoints::table.find(id))
            .execute(conn)
            .await?;
        audit_endpoint(conn, actor, meta, action::WEBHOOK_DELETED, &record).await
    })
    .await
}

/// A new secret (admins and owners), answered once; the old one signs
/// beside it for `overlap_seconds` (a day if left out).
pub async fn rotate(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    request: RotateSecret,
) -> Result<WebhookEndpointWithSecret, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let overlap = match request.overlap_seconds {
        None => DEFAULT_OVERLAP,
        Some(seconds) if (0..=MAX_OVERLAP_SECS).contains(&seconds) => TimeDelta::seconds(seconds),
        Some(_) => {
            return Err(ServiceError::invalid(
                "overlap_seconds",
                format!("must be from 0 to {MAX_OVERLAP_SECS} (a week)"),
            ));
        }
    };
    let sealer = sealer(services)?;
    let secret = sign::new_secret()?;
    let sealed = sealer.seal_bytes(&aad(id), secret.as_bytes())?;
    let now = services.clock.now();
    let mut conn = services.conn().await?;
    let record = endpoint_for(&mut conn, actor, id, Role::Admin).await?;
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let record: EndpointRecord = diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::previous_secret.eq(Some(&record.secret)),
                    webhook_endpoints::previous_until.eq(now + overlap),
                    webhook_endpoints::secret.eq(&sealed),
                    webhook_endpoints::updated_at.eq(Utc::now()),
                ))
                .returning(EndpointRecord::as_returning())
                .get_result(conn)
                .await?;
            audit_endpoint(conn, actor, meta, action::WEBHOOK_SECRET_ROTATED, &record).await?;
            Ok(record)
        })
        .await?;
    let slug = slug_of(&mut conn, record.workspace_id).await?;
    Ok(WebhookEndpointWithSecret {
        endpoint: record.view(&slug, now),
        secret,
    })
}

/// Sends a `webhook.test` event to this endpoint only (admins and owners;
/// five a minute), through the same queue, signing and log as any event.
pub async fn send_test(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<WebhookDelivery, ServiceError> {
    actor.require_scope(Scope::WebhooksWrite)?;
    let mut conn = services.conn().await?;
    let record = endpoint_for(&mut conn, actor, id, Role::Admin).await?;
    if !record.enabled {
        return Err(ServiceError::Conflict {
            field: "endpoint",
            message: "the endpoint is turned off; turn it on to send to it".to_owned(),
        });
    }
    let recent: i64 = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::endpoint_id.eq(id))
        .filter(webhook_events::event_type.eq(TEST_EVENT))
        .filter(webhook_deliveries::created_at.gt(Utc::now() - TimeDelta::minutes(1)))
        .count()
        .get_result(&mut conn)
        .await?;
    if recent >= TESTS_PER_MINUTE {
        return Err(ServiceError::RateLimited {
            retry_after: Duration::from_secs(60),
            message: "an endpoint takes five test events a minute",
        });
    }
    let event_id = format!("msg_{}", Uuid::new_v4().simple());
    let now = services.clock.now();
    let payload = serde_json::json!({
        "type": TEST_EVENT,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": { "endpoint": id, "message": "A test event from Agentdeck." },
    });
    let delivery = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            diesel::insert_into(webhook_events::table)
                .values((
                    webhook_events::id.eq(&event_id),
                    webhook_events::workspace_id.eq(record.workspace_id),
                    webhook_events::event_type.eq(TEST_EVENT),
                    webhook_events::payload.eq(&payload),
                ))
                .execute(conn)
                .await?;
            let delivery: i64 = diesel::insert_into(webhook_deliveries::table)
                .values((
                    webhook_deliveries::endpoint_id.eq(id),
                    webhook_deliveries::event_id.eq(&event_id),
                ))
                .returning(webhook_deliveries::id)
                .get_result(conn)
                .await?;
            queue_attempt(conn, delivery, 1, None).await?;
            Ok(delivery)
        })
        .await?;
    log::one(&mut conn, delivery).await
}

/// Queues attempt `attempt` of a delivery, at `at` (now if `None`).
pub(crate) async fn queue_attempt(
    conn: &mut AsyncPgConnection,
    delivery: i64,
    attempt: i32,
    at: Option<DateTime<Utc>>,
) -> Result<(), ServiceError> {
    let mut job = NewJob::new(DELIVER_JOB, serde_json::json!({ "delivery": delivery }))
        .priority(-1)
        .max_attempts(50)
        .unique(format!("webhook:{delivery}:{attempt}"));
    if let Some(at) = at {
        job = job.run_at(at);
    }
    enqueue(conn, job).await?;
    Ok(())
}

async fn audit_endpoint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    what: &'static str,
    record: &EndpointRecord,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        Entry {
            action: what,
            user: None,
            actor,
            workspace: Some(WorkspaceId(record.workspace_id)),
            target_type: "webhook_endpoint",
            target_id: record.id.to_string(),
            meta,
            details: serde_json::json!({
                "url": record.url,
                "event_types": record.event_types,
                "deployment": record.deployment_id,
                "enabled": record.enabled,
            }),
        },
    )
    .await
}
