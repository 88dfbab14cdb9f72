//! Credits on the wire: a workspace's wallet and its ledger lines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/wallet?workspace=`: what a workspace has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// One line of `GET /api/v1/ledger?workspace=`: one of the workspace's
/// accounts moved by one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    /// The transaction (several lines may share it).
    pub transaction: i64,
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
    #[serde(with = "crate::model::timestamp")]
    pub at: DateTime<Utc>,
}

/// A page of ledger lines, newest first; `next_cursor` reads on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPage {
    pub items: Vec<LedgerLine>,
    pub next_cursor: Option<String>,
}
