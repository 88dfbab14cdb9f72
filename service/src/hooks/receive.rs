//! `POST /hooks/<token>`: a call from another system starting a run.
//!
//! In order: the token finds the URL (404 for any other: unknown, rotated
//! away, deleted or turned off); the URL's per-minute budget (429); the
//! body's size (413, checked by the server as it reads); the signature, for
//! a signed URL (400, starting nothing: a missing or wrong one, or a
//! `webhook-timestamp` more than five minutes from now); the body as the
//! run's input (JSON, form fields, or text; 422 for JSON that does not
//! parse); then the run, as the member who made the URL, under the
//! deployment's limits, spend cap and wallet, with the request's method,
//! query and allowed headers as `ctx.trigger`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;

use super::{HookRecord, aad, token_hash};
use crate::actor::Actor;
use crate::schema::hooks;
use crate::{ServiceError, Services};
use types::deploy::{Run, StartRun};
use types::triggers::HookVerify;
use types::{UserId, WorkspaceId};

/// How far a `webhook-timestamp` may be from now.
const TOLERANCE_SECS: i64 = 300;
/// What of a request the run keeps for `ctx.trigger`: the first 50 query
/// fields, and each name and value to 1,000 characters.
const MAX_QUERY_FIELDS: usize = 50;
const MAX_VALUE_CHARS: usize = 1000;

/// The request as the server read it.
#[derive(Clone, Debug, Default)]
pub struct Inbound {
    pub method: String,
    pub query: Vec<(String, String)>,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Inbound {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the caller gets: the run finished within the wait, or goes on.
#[derive(Clone, Debug)]
pub enum Answer {
    Finished(Run),
    Going(Run),
}

/// Requests per URL in the current minute, in this process.
#[derive(Clone, Debug, Default)]
pub struct Flood(Arc<Mutex<HashMap<uuid::Uuid, (Instant, u32)>>>);

impl Flood {
    /// Counts a request; the wait until the next minute when over budget.
    fn admit(&self, hook: uuid::Uuid, per_minute: i32) -> Result<(), Duration> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = counts.entry(hook).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= u32::try_from(per_minute).unwrap_or(0) {
            return Err(Duration::from_secs(60).saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

/// The URL of `token`, when it exists and is on, and its budget allows one
/// more request.
pub async fn find(services: &Services, token: &str) -> Result<HookRecord, ServiceError> {
    let not_found = ServiceError::NotFound {
        what: "webhook URL",
    };
    if !token.starts_with("hk_") || token.len() > 100 {
        return Err(not_found);
    }
    let mut conn = services.conn().await?;
    let hook: HookRecord = hooks::table
        .filter(hooks::token_hash.eq(token_hash(token)))
        .filter(hooks::enabled.eq(true))
        .select(HookRecord::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(not_found)?;
    services
        .hook_flood
        .admit(hook.id, hook.per_minute)
        .map_err(|retry_after| ServiceError::RateLimited {
            retry_after,
            message: "this webhook URL's requests a minute are used up",
        })?;
    Ok(hook)
}

/// Verifies and runs one request to `hook`, waiting up to `wait` for the
/// run's end.
pub async fn receive(
    services: &Services,
    hook: &HookRecord,
    inbound: Inbound,
    wait: Duration,
) -> Result<Answer, ServiceError> {
    let verify = HookVerify::parse(&hook.verify);
    let secret = match (&hook.secret, verify) {
        (Some(sealed), HookVerify::Standard | HookVerify::Sha256) => {
            let sealer = services.secrets.as_deref().ok_or_else(|| {
                ServiceError::Unavailable("this server has no key to keep secrets with".into())
            })?;
            Some(
                String::from_utf8(sealer.open_bytes(&aad(hook.id), sealed)?).map_err(|_| {
                    ServiceError::Internal(anyhow::anyhow!("a hook's secret is not text"))
                })?,
            )
        }
        _ => None,
    };
    let now = services.clock.now();
    let mut idempotency = inbound
        .header("idempotency-key")
        .map(|key| format!("hook:{}:{key}", hook.id));
    match (verify, secret.as_deref()) {
        (HookVerify::Standard, Some(secret)) => {
            let id = check_standard(secret, &inbound, now.timestamp())?;
            idempotency = Some(format!("hook:{}:{id}", hook.id));
        }
        (HookVerify::Sha256, Some(secret)) => {
            check_sha256(secret, &inbound)?;
            // GitHub names each delivery: a replay of it starts nothing new.
            if let Some(id) = inbound.header("x-github-delivery") {
                idempotency = Some(format!("hook:{}:{id}", hook.id));
            }
        }
        _ => {}
    }
    if let Some(key) = &idempotency {
        crate::idempotency::check_key(Some(key), 200)?;
    }
    let input = input_of(&inbound)?;
    if holds_nul(&input) {
        return Err(ServiceError::invalid(
            "body",
            "must not hold NUL characters (\\u0000)",
        ));
    }
    let details = serde_json::json!({
        "hook": hook.id,
        "at": now,
        "method": inbound.method,
        "query": query_of(&inbound.query),
        "headers": inbound
            .headers
            .iter()
            .filter(|(name, _)| hook.allowed_headers.contains(name))
            .map(|(name, value)| (name.clone(), serde_json::Value::from(clipped(value))))
            .collect::<serde_json::Map<_, _>>(),
    });
    let actor = Actor::Trigger {
        user_id: UserId(hook.created_by),
        workspace_id: WorkspaceId(hook.workspace_id),
    };
    let request = StartRun {
        input,
        mode: Some(if wait.is_zero() { "async" } else { "sync" }.to_owned()),
    };
    let started = crate::runs::start_triggered(
        services,
        &actor,
        hook.deployment_id,
        request,
        "webhook",
        Some(details),
        idempotency,
    )
    .await?;
    touch(services, hook.id).await;
    let Some(executing) = started.executing else {
        let run = started.run;
        return Ok(if run.status.is_finished() {
            Answer::Finished(run)
        } else {
            Answer::Going(run)
        });
    };
    match tokio::time::timeout(wait, executing).await {
        Ok(Ok(Some(run))) => Ok(Answer::Finished(run)),
        Ok(_) => {
            let run = crate::runs::get_unscoped(services, &actor, started.run.id).await?;
            Ok(if run.status.is_finished() {
                Answer::Finished(run)
            } else {
                Answer::Going(run)
            })
        }
        Err(_) => Ok(Answer::Going(started.run)),
    }
}

/// The Standard Webhooks check; answers the `webhook-id`.
fn check_standard(secret: &str, inbound: &Inbound, now: i64) -> Result<String, ServiceError> {
    let bad = |why: &str| ServiceError::BadSignature(why.to_owned());
    let (Some(id), Some(timestamp), Some(signatures)) = (
        inbound.header("webhook-id"),
        inbound.header("webhook-timestamp"),
        inbound.header("webhook-signature"),
    ) else {
        return Err(bad(
            "this URL takes Standard Webhooks: webhook-id, webhook-timestamp and \
             webhook-signature are required",
        ));
    };
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| bad("webhook-timestamp is not a number of seconds"))?;
    if now
        .checked_sub(timestamp)
        .is_none_or(|skew| skew.abs() > TOLERANCE_SECS)
    {
        return Err(bad(
            "webhook-timestamp is more than five minutes from now: a replay, or a wrong clock",
        ));
    }
    if id.is_empty() || id.len() > 150 {
        return Err(bad("webhook-id must be 1 to 150 characters"));
    }
    let expected = crate::webhooks::sign::signature(secret, id, timestamp, &inbound.body)?;
    let matches = signatures.split(' ').any(|signature| {
        signature.len() == expected.len()
            && bool::from(signature.as_bytes().ct_eq(expected.as_bytes()))
    });
    if matches {
        Ok(id.to_owned())
    } else {
        Err(bad(
            "webhook-signature does not verify with this URL's secret",
        ))
    }
}

/// `X-Signature: sha256=<hex>` (or GitHub's `X-Hub-Signature-256`).
fn check_sha256(secret: &str, inbound: &Inbound) -> Result<(), ServiceError> {
    let bad = |why: &str| ServiceError::BadSignature(why.to_owned());
    let header = inbound
        .header("x-signature")
        .or_else(|| inbound.header("x-hub-signature-256"))
        .ok_or_else(|| {
            bad("this URL takes a signature: X-Signature: sha256=<hex HMAC-SHA256 of the body>")
        })?;
    let sent = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| bad("X-Signature must start with sha256="))?
        .to_ascii_lowercase();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("an HMAC key was refused")))?;
    mac.update(&inbound.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if sent.len() == expected.len() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(bad("X-Signature does not verify with this URL's secret"))
    }
}

/// The body as the run's input: JSON, form fields as an object, or text.
fn input_of(inbound: &Inbound) -> Result<serde_json::Value, ServiceError> {
    if inbound.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    let content_type = inbound
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if content_type == "application/json" || content_type.ends_with("+json") {
        return serde_json::from_slice(&inbound.body)
            .map_err(|error| ServiceError::invalid("body", format!("is not JSON: {error}")));
    }
    if content_type == "application/x-www-form-urlencoded" {
        let mut fields = serde_json::Map::new();
        for (name, value) in form_urlencoded::parse(&inbound.body) {
            let value = serde_json::Value::from(value.into_owned());
            match fields.get_mut(name.as_ref()) {
                Some(serde_json::Value::Array(values)) => values.push(value),
                Some(first) => *first = serde_json::Value::Array(vec![first.take(), value]),
                None => {
                    fields.insert(name.into_owned(), value);
                }
            }
        }
        return Ok(serde_json::Value::Object(fields));
    }
    String::from_utf8(inbound.body.clone())
        .map(serde_json::Value::from)
        .map_err(|_| ServiceError::invalid("body", "must be JSON, form fields or UTF-8 text"))
}

fn query_of(query: &[(String, String)]) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    for (name, value) in query.iter().take(MAX_QUERY_FIELDS) {
        if name == "wait" {
            continue;
        }
        fields.insert(clipped(name), serde_json::Value::from(clipped(value)));
    }
    serde_json::Value::Object(fields)
}

/// A query or header value as the agent gets it: at most 1,000 characters.
fn clipped(text: &str) -> String {
    text.chars().take(MAX_VALUE_CHARS).collect()
}

fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// Marks the URL used, at most once a minute.
async fn touch(services: &Services, hook: uuid::Uuid) {
    let Ok(mut conn) = services.conn().await else {
        return;
    };
    let minute_ago = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    let _ = diesel::update(
        hooks::table.find(hook).filter(
            hooks::last_used_at
                .is_null()
                .or(hooks::last_used_at.lt(minute_ago)),
        ),
    )
    .set(hooks::last_used_at.eq(chrono::Utc::now()))
    .execute(&mut conn)
    .await;
}
