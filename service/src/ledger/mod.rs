//! Credits, kept in a double-entry ledger (migration 000014): every
//! movement is one transaction of entries that sum to zero, posted once per
//! idempotency key. The database keeps each account's balance from its
//! entries and refuses an overdraft, so no code path can spend credits a
//! wallet does not have, even when many try at once.
//!
//! The rule for paid runs:
//! - when a run starts, its price moves from the workspace's wallet to its
//!   `held` account: a run the wallet cannot pay for is refused (402)
//!   before anything executes;
//! - a run that **succeeds** is charged: the held credits go to the agent's
//!   workspace (the creator's share, 80 % by default) and the platform (the
//!   rest);
//! - any other ending (the agent failed, timed out, was cancelled, or its
//!   server died) releases the held credits back to the wallet.
//!
//! A workspace running its own agent pays nothing.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ServiceError;
use super::schema::ledger_accounts;
use types::UserId;

mod csv;
mod grants;
mod holds;
mod pricing;
mod read;

pub use csv::csv;
pub use grants::{admin_grant, grant_starter};
pub use holds::{Hold, Subject, release, reserve, settle};
pub use pricing::pricing;
pub use read::{lines, usage, wallet};

/// The platform's terms, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct Billing {
    /// Credits a new account starts with.
    pub starter_credits: i64,
    /// The creator's share of a paid run, in percent; the platform keeps
    /// the rest.
    pub creator_share_percent: i64,
}

impl Default for Billing {
    fn default() -> Self {
        Self {
            starter_credits: 100,
            creator_share_percent: 80,
        }
    }
}

impl Billing {
    /// A price split into the creator's share and the platform's fee; the
    /// two always sum to the price (the creator's share rounds down).
    pub fn split(self, price: i64) -> (i64, i64) {
        let share = price * self.creator_share_percent / 100;
        (share, price - share)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    Wallet,
    Held,
    Earnings,
    Revenue,
    Purchases,
    Grants,
}

impl Account {
    fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "wallet",
            Self::Held => "held",
            Self::Earnings => "earnings",
            Self::Revenue => "revenue",
            Self::Purchases => "purchases",
            Self::Grants => "grants",
        }
    }
}

/// The id of the `kind` account of `workspace` (of the platform when
/// `None`), made empty when first needed.
pub async fn account(
    conn: &mut AsyncPgConnection,
    kind: Account,
    workspace: Option<Uuid>,
) -> Result<Uuid, ServiceError> {
    if let Some(id) = find_account(conn, kind, workspace).await? {
        return Ok(id);
    }
    diesel::insert_into(ledger_accounts::table)
        .values((
            ledger_accounts::kind.eq(kind.as_str()),
            ledger_accounts::workspace_id.eq(workspace),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    // Made here or, at the same moment, by someone else.
    find_account(conn, kind, workspace).await?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("the {} account is missing", kind.as_str()))
    })
}

/// Several accounts at once, in the order asked: their ids and balances,
/// read in one query (an account not there yet is made first). Balances are
/// as committed, unlocked: a guide, the CHECK is the guard.
pub async fn accounts<const N: usize>(
    conn: &mut AsyncPgConnection,
    wanted: [(Account, Option<Uuid>); N],
) -> Result<[(Uuid, i64); N], ServiceError> {
    let mut query = ledger_accounts::table
        .select((
            ledger_accounts::id,
            ledger_accounts::kind,
            ledger_accounts::workspace_id,
            ledger_accounts::balance,
        ))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("false"))
        .into_boxed();
    for (kind, workspace) in wanted {
        query = match workspace {
            Some(workspace) => query.or_filter(
                ledger_accounts::kind
                    .eq(kind.as_str())
                    .and(ledger_accounts::workspace_id.eq(workspace)),
            ),
            None => query.or_filter(
                ledger_accounts::kind
                    .eq(kind.as_str())
                    .and(ledger_accounts::workspace_id.is_null()),
            ),
        };
    }
    let rows: Vec<(Uuid, String, Option<Uuid>, i64)> = query.load(conn).await?;
    let mut found = [(Uuid::nil(), 0); N];
    for (slot, (kind, workspace)) in found.iter_mut().zip(wanted) {
        *slot = match rows
            .iter()
            .find(|row| row.1 == kind.as_str() && row.2 == workspace)
        {
            Some(row) => (row.0, row.3),
            None => (account(conn, kind, workspace).await?, 0),
        };
    }
    Ok(found)
}

async fn find_account(
    conn: &mut AsyncPgConnection,
    kind: Account,
    workspace: Option<Uuid>,
) -> Result<Option<Uuid>, ServiceError> {
    let query = ledger_accounts::table
        .filter(ledger_accounts::kind.eq(kind.as_str()))
        .select(ledger_accounts::id)
        .into_boxed();
    let query = match workspace {
        Some(workspace) => query.filter(ledger_accounts::workspace_id.eq(workspace)),
        None => query.filter(ledger_accounts::workspace_id.is_null()),
    };
    Ok(query.first::<Uuid>(conn).await.optional()?)
}

/// A workspace's balance in an account (0 when it has none yet).
pub async fn balance(
    conn: &mut AsyncPgConnection,
    kind: Account,
    workspace: Uuid,
) -> Result<i64, ServiceError> {
    Ok(ledger_accounts::table
        .filter(ledger_accounts::kind.eq(kind.as_str()))
        .filter(ledger_accounts::workspace_id.eq(workspace))
        .select(ledger_accounts::balance)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// One movement of credits.
pub struct Movement {
    /// Posting the same key again does nothing.
    pub key: String,
    pub kind: &'static str,
    pub workspace: Option<Uuid>,
    pub run: Option<Uuid>,
    /// A test run or try (`trial_runs`).
    pub trial: Option<Uuid>,
    pub agent: Option<Uuid>,
    pub memo: String,
    pub by: Option<UserId>,
    /// Accounts and amounts; they must sum to zero.
    pub legs: Vec<(Uuid, i64)>,
}

/// Whether a movement was posted now or had been before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    Now,
    Before,
}

/// Posts a movement in the caller's transaction. An overdraft fails the
/// statement (and so the caller's transaction) with `PaymentRequired`.
pub async fn post(
    conn: &mut AsyncPgConnection,
    movement: Movement,
) -> Result<Posted, ServiceError> {
    let mut legs: Vec<(Uuid, i64)> = movement
        .legs
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .collect();
    // Accounts are locked (their balances updated) in one order by every
    // movement, so concurrent movements never deadlock.
    legs.sort_by_key(|(account, _)| *account);
    if legs.iter().map(|(_, amount)| amount).sum::<i64>() != 0 {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "an unbalanced movement: {}",
            movement.key
        )));
    }
    if legs.is_empty() {
        return Ok(Posted::Before);
    }
    let (accounts, amounts): (Vec<Uuid>, Vec<i64>) = legs.into_iter().unzip();
    // The transaction and its entries in one statement; nothing when the
    // key was posted before. Entries go in in account order (above).
    let inserted = diesel::sql_query(
        "WITH posted AS ( \
             INSERT INTO ledger_transactions \
                 (idempotency_key, kind, workspace_id, run_id, agent_id, memo, created_by, \
                  trial_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $10) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id) \
         INSERT INTO ledger_entries (transaction_id, account_id, amount) \
         SELECT posted.id, leg.account, leg.amount \
         FROM posted, unnest($8::uuid[], $9::bigint[]) WITH ORDINALITY AS leg (account, amount, n) \
         ORDER BY leg.n",
    )
    .bind::<Text, _>(&movement.key)
    .bind::<Text, _>(movement.kind)
    .bind::<Nullable<SqlUuid>, _>(movement.workspace)
    .bind::<Nullable<SqlUuid>, _>(movement.run)
    .bind::<Nullable<SqlUuid>, _>(movement.agent)
    .bind::<Text, _>(&movement.memo)
    .bind::<Nullable<SqlUuid>, _>(movement.by.map(|user| user.0))
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<Array<BigInt>, _>(&amounts)
    .bind::<Nullable<SqlUuid>, _>(movement.trial)
    .execute(conn)
    .await
    .map_err(|error| match &error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::CheckViolation,
            info,
        ) if info.constraint_name() == Some("ledger_no_overdraft") => {
            ServiceError::PaymentRequired("not enough credits in the workspace's wallet".to_owned())
        }
        _ => ServiceError::from(error),
    })?;
    Ok(if inserted == 0 {
        Posted::Before
    } else {
        Posted::Now
    })
}

#[cfg(test)]
mod tests {
    use super::Billing;
    use super::csv::csv_text;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_text("Run charged"), "Run charged");
        assert_eq!(csv_text("a, b"), "\"a, b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_text("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn a_split_always_adds_up_to_the_price() {
        let billing = Billing::default();
        assert_eq!(billing.split(10), (8, 2));
        assert_eq!(billing.split(3), (2, 1));
        assert_eq!(billing.split(1), (0, 1));
        for price in 0..500 {
            let (share, fee) = billing.split(price);
            assert_eq!(share + fee, price);
            assert!(share >= 0 && fee >= 0);
        }
    }
}
