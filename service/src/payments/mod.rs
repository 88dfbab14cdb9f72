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
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::actor::Actor;
use super::schema::{billing_checkouts, workspaces};
use super::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::billing::{Checkout, StartCheckout, TopUp};

mod webhook;

pub use webhook::{Delivery, TOLERANCE_SECS, sign, verify_signature, webhook};

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
    crate::auth::recovery::require_verified(&mut conn, user).await?;
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
