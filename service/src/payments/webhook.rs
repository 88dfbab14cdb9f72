//! The payment provider's webhook: the `Stripe-Signature` verified in
//! constant time within a tolerance, each event handled once, a paid
//! checkout credited once.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::actor::RequestMeta;
use crate::ledger::{self, Account, Movement};
use crate::schema::{billing_checkouts, billing_webhook_events};
use crate::{ServiceError, Services};
use types::UserId;

use super::CheckoutRow;
use super::payments;

/// How old a signed event may be, in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// What became of a webhook delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A checkout was paid: its credits are in the wallet now.
    Credited,
    /// Handled, nothing to credit (an expired session, an unpaid one).
    Handled,
    /// A type this server does not act on: acknowledged, ignored.
    Ignored,
    /// This event id was handled before.
    Duplicate,
    /// About a session no checkout of this server made: kept, unhandled.
    Unmatched,
    /// Paid, but not the sum or currency asked: the checkout is held for
    /// review and nothing is credited.
    Review,
}

/// Verifies `Stripe-Signature` for `payload` at `now` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`, any
/// number of `v1` (the provider signs with each active secret).
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let bad = |why: &str| ServiceError::BadSignature(why.to_owned());
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            // Only what could be a SHA-256 MAC, and only a few: the work
            // per request stays one MAC over the payload.
            Some(("v1", value)) if value.len() == 64 && signatures.len() < MAX_SIGNATURES => {
                signatures.extend(from_hex(value));
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| bad("the Stripe-Signature header has no timestamp"))?;
    if signatures.is_empty() {
        return Err(bad("the Stripe-Signature header has no v1 signature"));
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(bad(
            "the event's timestamp is outside the 300 s tolerance (a replay?)",
        ));
    }
    let expected = mac(secret, timestamp, payload)
        .map(|mac| mac.finalize().into_bytes())
        .ok_or_else(|| bad("the webhook secret cannot key a MAC"))?;
    // Constant time, for each candidate.
    let matches = signatures
        .iter()
        .fold(subtle::Choice::from(0), |any, signature| {
            any | expected.as_slice().ct_eq(signature.as_slice())
        });
    if bool::from(matches) {
        Ok(())
    } else {
        Err(bad("no signature matches the payload"))
    }
}

/// The most `v1` signatures one header may carry (one per active secret).
pub(super) const MAX_SIGNATURES: usize = 8;

/// The signature header the provider would send (tests, stand-ins).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let hex: String = mac(secret, timestamp, payload)
        .map(|mac| mac.finalize().into_bytes())
        .iter()
        .flatten()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

/// The MAC of `<timestamp>.<payload>` (HMAC takes keys of any length).
pub(super) fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

pub(super) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Handles one webhook delivery: verified, then each event id once.
pub async fn webhook(
    services: &Services,
    signature: Option<&str>,
    payload: &[u8],
    meta: &RequestMeta,
) -> Result<Delivery, ServiceError> {
    let payments = payments(services)?;
    let signature = signature.ok_or_else(|| {
        ServiceError::BadSignature("the Stripe-Signature header is missing".into())
    })?;
    verify_signature(
        signature,
        payload,
        &payments.config.webhook_secret,
        Utc::now().timestamp(),
    )?;
    let event: Value = serde_json::from_slice(payload)
        .map_err(|error| ServiceError::invalid("event", format!("is not JSON: {error}")))?;
    let id = event["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 255)
        .ok_or_else(|| ServiceError::invalid("id", "the event has no id"))?
        .to_owned();
    let kind = event["type"]
        .as_str()
        .ok_or_else(|| ServiceError::invalid("type", "the event has no type"))?
        .to_owned();
    let object = event["data"]["object"].clone();
    let mut conn = services.conn().await?;
    let ip = meta.ip.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let handles = matches!(
            kind.as_str(),
            "checkout.session.completed"
                | "checkout.session.async_payment_succeeded"
                | "checkout.session.async_payment_failed"
                | "checkout.session.expired"
        );
        let fresh = diesel::insert_into(billing_webhook_events::table)
            .values((
                billing_webhook_events::event_id.eq(&id),
                billing_webhook_events::kind.eq(&kind),
                billing_webhook_events::handled.eq(handles),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if fresh == 0 {
            return Ok(Delivery::Duplicate);
        }
        if !handles {
            return Ok(Delivery::Ignored);
        }
        let Some(row) = checkout_of(conn, &object).await? else {
            tracing::warn!(event = %id, session = ?object["id"], "an event about no checkout of ours");
            unhandled(conn, &id).await?;
            return Ok(Delivery::Unmatched);
        };
        match kind.as_str() {
            "checkout.session.expired" | "checkout.session.async_payment_failed" => {
                let status = if kind.ends_with("expired") { "expired" } else { "failed" };
                diesel::update(billing_checkouts::table.find(row.id))
                    .filter(billing_checkouts::status.eq("open"))
                    .set(billing_checkouts::status.eq(status))
                    .execute(conn)
                    .await?;
                Ok(Delivery::Handled)
            }
            // Paid later (a bank debit) when not paid yet: its own event
            // will say so.
            _ if object["payment_status"] != "paid" => Ok(Delivery::Handled),
            _ => credit(conn, row, &object, &id, &ip).await,
        }
    })
    .await
}

/// The checkout a session event is about, locked: by the provider's
/// session id, or by our id the session carries (when the provider's
/// answer never reached us).
pub(super) async fn checkout_of(
    conn: &mut AsyncPgConnection,
    session: &Value,
) -> Result<Option<CheckoutRow>, ServiceError> {
    let session_id = session["id"].as_str().unwrap_or_default();
    // No checkout has the nil id.
    let ours = session["client_reference_id"]
        .as_str()
        .and_then(|id| id.parse::<Uuid>().ok())
        .unwrap_or_default();
    Ok(billing_checkouts::table
        .filter(
            billing_checkouts::provider_id
                .eq(session_id)
                .or(billing_checkouts::id
                    .eq(ours)
                    .and(billing_checkouts::provider_id.is_null())),
        )
        .for_update()
        .select(CheckoutRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Marks a recorded event as not acted on (for reconciliation).
pub(super) async fn unhandled(
    conn: &mut AsyncPgConnection,
    event: &str,
) -> Result<(), ServiceError> {
    diesel::update(billing_webhook_events::table.find(event))
        .set(billing_webhook_events::handled.eq(false))
        .execute(conn)
        .await?;
    Ok(())
}

/// Credits the checkout a paid session stands for, once.
pub(super) async fn credit(
    conn: &mut AsyncPgConnection,
    row: CheckoutRow,
    session: &Value,
    event: &str,
    ip: &str,
) -> Result<Delivery, ServiceError> {
    let session_id = session["id"].as_str().unwrap_or_default();
    match row.status.as_str() {
        "paid" => return Ok(Delivery::Handled),
        // A person decides; no later event credits it on its own.
        "review" => {
            unhandled(conn, event).await?;
            return Ok(Delivery::Review);
        }
        // Open, or closed as expired or failed and then paid after all:
        // the money was taken, so the credits are due.
        _ => {}
    }
    let paid = session["amount_total"].as_i64();
    let currency = session["currency"].as_str();
    if paid != Some(row.amount_cents) || currency != Some(row.currency.as_str()) {
        // Verified, yet not what was asked: never credit another sum. The
        // checkout waits for a person; the provider is told all is well so
        // that it stops retrying.
        tracing::error!(
            checkout = %row.id, event, expected = row.amount_cents, currency = row.currency,
            reported = ?paid, reported_currency = ?currency,
            "a payment for another sum than its checkout: held for review"
        );
        diesel::update(billing_checkouts::table.find(row.id))
            .set(billing_checkouts::status.eq("review"))
            .execute(conn)
            .await?;
        unhandled(conn, event).await?;
        return Ok(Delivery::Review);
    }
    diesel::sql_query("SELECT set_config('agentdeck.audit_ip', $1, true)")
        .bind::<diesel::sql_types::Text, _>(ip)
        .execute(conn)
        .await?;
    let wallet = ledger::account(conn, Account::Wallet, Some(row.workspace_id)).await?;
    let purchases = ledger::account(conn, Account::Purchases, None).await?;
    let posted = ledger::post(
        conn,
        Movement {
            key: format!("checkout:{}", row.id),
            kind: "purchase",
            workspace: Some(row.workspace_id),
            run: None,
            trial: None,
            agent: None,
            memo: format!("Bought {} credits (payment {session_id})", row.credits),
            by: row.created_by.map(UserId),
            legs: vec![(wallet, row.credits), (purchases, -row.credits)],
        },
    )
    .await?;
    diesel::update(billing_checkouts::table.find(row.id))
        .set((
            billing_checkouts::status.eq("paid"),
            billing_checkouts::provider_id.eq(session_id),
            billing_checkouts::paid_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(match posted {
        ledger::Posted::Now => Delivery::Credited,
        ledger::Posted::Before => Delivery::Handled,
    })
}
