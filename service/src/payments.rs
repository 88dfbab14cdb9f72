//! Buying credits through a Stripe-compatible payment provider.
//!
//! 1. `checkout` records an open checkout and asks the provider for a
//!    checkout session (`POST {api}/v1/checkout/sessions`, form-encoded,
//!    the secret key as bearer, our checkout id as idempotency key); the
//!    browser goes to the session's `url` to pay.
//! 2. The provider calls `POST /webhooks/stripe` when the session is paid.
//!    `webhook` verifies the `Stripe-Signature` header (HMAC-SHA256 of
//!    `<timestamp>.<body>` with the webhook secret, compared in constant
//!    time, at most 300 s old), records the event id (each is handled
//!    once), and credits the wallet in the same database transaction.
//!
//! Nothing but a verified event credits a wallet; the checkout's ledger key
//! (`checkout:<id>`) makes a second event for the same payment a no-op.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::actor::{Actor, RequestMeta};
use super::ledger::{self, Account, Movement};
use super::schema::{billing_checkouts, billing_webhook_events, workspaces};
use super::{ServiceError, Services, access};
use types::account::{Role, Scope};
use types::billing::{Checkout, StartCheckout, TopUp};
use types::{UserId, WorkspaceId};

/// How old a signed event may be, in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// The fewest and most credits one checkout buys.
pub const MIN_CREDITS: i64 = 100;
pub const MAX_CREDITS: i64 = 1_000_000;

/// The provider and the platform's prices, from configuration.
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// The provider's API origin, e.g. `https://api.stripe.com`.
    pub api_base: String,
    /// The secret API key (`sk_...`).
    pub secret_key: String,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: String,
    /// What one credit costs, in the currency's smallest unit.
    pub cents_per_credit: i64,
    /// ISO 4217, lower case (`usd`).
    pub currency: String,
}

pub struct Payments {
    config: PaymentsConfig,
    http: reqwest::Client,
}

impl Payments {
    pub fn new(config: PaymentsConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { config, http }
    }

    /// What buying costs, for the wallet page.
    pub fn top_up(&self) -> TopUp {
        TopUp {
            cents_per_credit: self.config.cents_per_credit,
            currency: self.config.currency.clone(),
            min_credits: MIN_CREDITS,
            max_credits: MAX_CREDITS,
        }
    }
}

fn payments(services: &Services) -> Result<&Payments, ServiceError> {
    services.payments.as_deref().ok_or(ServiceError::Conflict {
        field: "payments",
        message: "buying credits is not set up on this server".to_owned(),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = billing_checkouts)]
struct CheckoutRow {
    id: Uuid,
    workspace_id: Uuid,
    url: Option<String>,
    credits: i64,
    amount_cents: i64,
    currency: String,
    status: String,
    created_by: Option<Uuid>,
    created_at: chrono::DateTime<Utc>,
    paid_at: Option<chrono::DateTime<Utc>>,
}

impl CheckoutRow {
    fn view(self, workspace: String) -> Checkout {
        Checkout {
            id: self.id,
            workspace,
            url: self.url,
            credits: self.credits,
            amount_cents: self.amount_cents,
            currency: self.currency,
            status: self.status,
            created_at: self.created_at,
            paid_at: self.paid_at,
        }
    }
}

/// Starts buying `credits` for a workspace (the caller's personal one when
/// none is named; members and up, in a browser session): the answer's
/// `url` is where the browser pays.
pub async fn checkout(
    services: &Services,
    actor: &Actor,
    request: StartCheckout,
) -> Result<Checkout, ServiceError> {
    let user = actor.require_session()?;
    let payments = payments(services)?;
    let credits = request.credits;
    if !(MIN_CREDITS..=MAX_CREDITS).contains(&credits) {
        return Err(ServiceError::invalid(
            "credits",
            format!("must be from {MIN_CREDITS} to {MAX_CREDITS}"),
        ));
    }
    let mut conn = services.conn().await?;
    let (workspace, slug) = match request.workspace.as_deref().map(str::trim) {
        Some(slug) if !slug.is_empty() => workspaces::table
            .filter(workspaces::slug.eq(slug))
            .select((workspaces::id, workspaces::slug))
            .first::<(Uuid, String)>(&mut conn)
            .await
            .optional()?
            .ok_or(ServiceError::NotFound { what: "workspace" })?,
        _ => {
            let id = access::personal_workspace(&mut conn, user).await?;
            let slug = workspaces::table
                .find(id.0)
                .select(workspaces::slug)
                .first(&mut conn)
                .await?;
            (id.0, slug)
        }
    };
    access::require_role(&mut conn, actor, WorkspaceId(workspace), Role::Member).await?;
    let config = &payments.config;
    let amount = credits * config.cents_per_credit;
    let row: CheckoutRow = diesel::insert_into(billing_checkouts::table)
        .values((
            billing_checkouts::workspace_id.eq(workspace),
            billing_checkouts::credits.eq(credits),
            billing_checkouts::amount_cents.eq(amount),
            billing_checkouts::currency.eq(&config.currency),
            billing_checkouts::created_by.eq(user.0),
        ))
        .returning(CheckoutRow::as_returning())
        .get_result(&mut conn)
        .await?;
    // Not held while the provider answers (up to its timeout).
    drop(conn);
    let back = format!("{}/wallet?workspace={slug}", services.public_url);
    let form = [
        ("mode", "payment".to_owned()),
        ("client_reference_id", row.id.to_string()),
        ("success_url", format!("{back}&checkout={}", row.id)),
        (
            "cancel_url",
            format!("{back}&checkout={}&cancelled=1", row.id),
        ),
        ("line_items[0][quantity]", "1".to_owned()),
        (
            "line_items[0][price_data][currency]",
            config.currency.clone(),
        ),
        ("line_items[0][price_data][unit_amount]", amount.to_string()),
        (
            "line_items[0][price_data][product_data][name]",
            format!("{credits} Agentdeck credits"),
        ),
        ("metadata[checkout]", row.id.to_string()),
        ("metadata[workspace]", slug.clone()),
        ("metadata[credits]", credits.to_string()),
    ];
    let session = ask_provider(payments, row.id, &form).await;
    let mut conn = services.conn().await?;
    let (provider_id, url) = match session {
        Ok(session) => session,
        Err(error) => {
            diesel::update(billing_checkouts::table.find(row.id))
                .set(billing_checkouts::status.eq("failed"))
                .execute(&mut conn)
                .await?;
            return Err(error);
        }
    };
    let row: CheckoutRow = diesel::update(billing_checkouts::table.find(row.id))
        .set((
            billing_checkouts::provider_id.eq(provider_id),
            billing_checkouts::url.eq(url),
        ))
        .returning(CheckoutRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(row.view(slug))
}

/// Asks the provider for a checkout session: its id and where to pay.
async fn ask_provider(
    payments: &Payments,
    checkout: Uuid,
    form: &[(&str, String)],
) -> Result<(String, String), ServiceError> {
    let config = &payments.config;
    let session = payments
        .http
        .post(format!("{}/v1/checkout/sessions", config.api_base))
        .bearer_auth(&config.secret_key)
        .header("Idempotency-Key", format!("checkout-{checkout}"))
        .form(form)
        .send()
        .await
        .map_err(|error| ServiceError::Unavailable(format!("payment provider: {error}")))?;
    let status = session.status();
    let session: Value = session
        .json()
        .await
        .map_err(|error| ServiceError::Unavailable(format!("payment provider: {error}")))?;
    match (
        session["id"].as_str().filter(|_| status.is_success()),
        session["url"].as_str(),
    ) {
        (Some(id), Some(url)) => Ok((id.to_owned(), url.to_owned())),
        _ => Err(ServiceError::Unavailable(format!(
            "payment provider answered {status}: {}",
            session["error"]["message"].as_str().unwrap_or("no session")
        ))),
    }
}

/// One of a workspace's checkouts (to show whether it was paid yet).
pub async fn show_checkout(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<Checkout, ServiceError> {
    actor.require_scope(Scope::BillingRead)?;
    actor.require_user()?;
    let mut conn = services.conn().await?;
    let row: CheckoutRow = billing_checkouts::table
        .find(id)
        .select(CheckoutRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "checkout" })?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(row.workspace_id),
        Role::Member,
    )
    .await?;
    let slug = workspaces::table
        .find(row.workspace_id)
        .select(workspaces::slug)
        .first(&mut conn)
        .await?;
    Ok(row.view(slug))
}

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
const MAX_SIGNATURES: usize = 8;

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
fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
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
async fn checkout_of(
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
async fn unhandled(conn: &mut AsyncPgConnection, event: &str) -> Result<(), ServiceError> {
    diesel::update(billing_webhook_events::table.find(event))
        .set(billing_webhook_events::handled.eq(false))
        .execute(conn)
        .await?;
    Ok(())
}

/// Credits the checkout a paid session stands for, once.
async fn credit(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_against_payload_secret_and_time() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, "whsec_test", 1_000_000);
        assert!(verify_signature(&header, payload, "whsec_test", 1_000_000).is_ok());
        assert!(verify_signature(&header, payload, "whsec_test", 1_000_300).is_ok());
        assert!(verify_signature(&header, payload, "whsec_test", 1_000_301).is_err());
        assert!(verify_signature(&header, payload, "whsec_other", 1_000_000).is_err());
        assert!(verify_signature(&header, br#"{"id":"evt_2"}"#, "whsec_test", 1_000_000).is_err());
        // Another secret's signature beside the right one passes (rotation).
        let rotated = format!(
            "{},v1={}",
            sign(payload, "whsec_old", 1_000_000),
            header.split_once("v1=").expect("v1").1
        );
        assert!(verify_signature(&rotated, payload, "whsec_test", 1_000_000).is_ok());
        assert!(verify_signature("t=1000000", payload, "whsec_test", 1_000_000).is_err());
        assert!(verify_signature("v1=00", payload, "whsec_test", 1_000_000).is_err());
        assert!(verify_signature("", payload, "whsec_test", 1_000_000).is_err());
        // Empty or short candidates do not count, and past eight none do.
        let empty = format!("t=1000000,v1=,v1=00,{}", &header["t=1000000,".len()..]);
        assert!(verify_signature(&empty, payload, "whsec_test", 1_000_000).is_ok());
        let bogus = format!("v1={},", "0".repeat(64)).repeat(8);
        let late = format!("t=1000000,{bogus}{}", &header["t=1000000,".len()..]);
        assert!(verify_signature(&late, payload, "whsec_test", 1_000_000).is_err());
        assert!(
            verify_signature(
                "t=-9223372036854775808,v1=00",
                payload,
                "whsec_test",
                i64::MAX
            )
            .is_err()
        );
    }
}
