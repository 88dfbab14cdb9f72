//! Credits on the wire: a workspace's wallet and its ledger lines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/wallet?workspace=`: what a workspace has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wallet {
    /// The workspace's slug.
    pub workspace: String,
    /// Credits it can spend.
    pub balance: i64,
    /// Credits held for runs in flight (charged if they succeed, given back
    /// otherwise).
    pub held: i64,
    /// Its share of paid runs of its agents.
    pub earnings: i64,
    /// How credits are bought here; `None` when this server takes no
    /// payments.
    #[serde(default)]
    pub top_up: Option<TopUp>,
}

/// What credits cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopUp {
    /// One credit's price in the currency's smallest unit (cents).
    pub cents_per_credit: i64,
    /// ISO 4217, lower case.
    pub currency: String,
    pub min_credits: i64,
    pub max_credits: i64,
}

/// `POST /api/v1/billing/checkout`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartCheckout {
    pub credits: i64,
    /// The workspace's slug; the personal one when absent.
    #[serde(default)]
    pub workspace: Option<String>,
}

/// A purchase of credits: `open` until the provider reports it `paid` (or
/// `expired`); pay at `url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkout {
    pub id: uuid::Uuid,
    pub workspace: String,
    pub url: Option<String>,
    pub credits: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(default, with = "crate::timestamp::option")]
    pub paid_at: Option<DateTime<Utc>>,
}

/// One line of `GET /api/v1/ledger?workspace=`: one of the workspace's
/// accounts moved by one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerLine {
    /// The transaction (several lines may share it).
    pub transaction: i64,
    /// The line itself (unique).
    #[serde(default)]
    pub entry: i64,
    /// `starter`, `grant`, `purchase`, `reserve`, `settle` or `release`.
    pub kind: String,
    /// `wallet`, `held` or `earnings`.
    pub account: String,
    /// Credits in (positive) or out (negative).
    pub amount: i64,
    pub memo: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<uuid::Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
}

/// A page of ledger lines, newest first; `next_cursor` reads on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerPage {
    pub items: Vec<LedgerLine>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/admin/credits` (platform administrators).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantCredits {
    /// The workspace's slug.
    pub workspace: String,
    pub credits: i64,
    /// Why: kept as the movement's memo and in the audit log.
    pub reason: String,
}

/// A grant made: its ledger transaction and the wallet's new balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Granted {
    pub transaction: i64,
    pub workspace: String,
    pub balance: i64,
}

/// `GET /api/v1/billing/usage?workspace=&days=`: paid runs per day (UTC)
/// and agent over the last `days` days, today included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub workspace: String,
    /// The first day counted, `YYYY-MM-DD`.
    pub since: String,
    pub days: i64,
    /// What the workspace's runs were charged.
    pub spent: Vec<UsageRow>,
    /// Its creator's share of others' runs of its agents.
    pub earned: Vec<UsageRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// The agent's slug and name.
    pub agent: String,
    pub agent_name: String,
    pub credits: i64,
    /// Paid runs counted.
    pub runs: i64,
}

/// What things cost on this server, from its configuration: the pricing
/// page (`GET /api/v1/pricing`, public).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pricing {
    /// What a credit costs and how many one purchase may buy; `None` when
    /// credits are not for sale here (no payment provider configured).
    pub credit: Option<TopUp>,
    /// Credits every new account starts with.
    pub starter_credits: i64,
    /// The creator's share of a paid run, in percent; the platform keeps
    /// the rest.
    pub creator_share_percent: i64,
    /// The language models agents may call through the platform, with
    /// their prices in credits per 1,000 tokens.
    pub models: Vec<ModelPrice>,
}

/// One model agents may call, and what its tokens cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelPrice {
    pub model: String,
    pub input_credits_per_1k: i64,
    pub output_credits_per_1k: i64,
}
