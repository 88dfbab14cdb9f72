//! A paid run's money: its price held when it starts, then settled (the
//! creator's share and the platform's fee) or released.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::ServiceError;

use super::Account;
use super::Billing;
use super::Movement;
use super::Posted;
use super::accounts;
use super::post;

/// What a run (or a try) holds: its price, paid by `payer` for `agent`.
#[derive(Clone, Copy, Debug)]
pub struct Hold {
    pub subject: Subject,
    pub payer: Uuid,
    pub agent: Uuid,
    pub price: i64,
}

/// What money moves for: a deployment's run, or a test run or try
/// (`trial_runs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Run(Uuid),
    Trial(Uuid),
}

impl Subject {
    /// The idempotency key of `step` for this subject.
    pub fn key(self, step: &str) -> String {
        match self {
            Self::Run(id) => format!("run:{id}:{step}"),
            Self::Trial(id) => format!("try:{id}:{step}"),
        }
    }

    pub fn run(self) -> Option<Uuid> {
        match self {
            Self::Run(id) => Some(id),
            Self::Trial(_) => None,
        }
    }

    pub fn trial(self) -> Option<Uuid> {
        match self {
            Self::Trial(id) => Some(id),
            Self::Run(_) => None,
        }
    }
}

/// Moves a run's price from the payer's wallet to held, or answers 402
/// (nothing is held twice for one run).
pub async fn reserve(conn: &mut AsyncPgConnection, hold: Hold) -> Result<(), ServiceError> {
    let [(wallet, available), (held, _)] = accounts(
        conn,
        [
            (Account::Wallet, Some(hold.payer)),
            (Account::Held, Some(hold.payer)),
        ],
    )
    .await?;
    if available < hold.price {
        return Err(ServiceError::PaymentRequired(format!(
            "this run costs {} credits and the workspace has {available}; top up its wallet",
            hold.price
        )));
    }
    post(
        conn,
        Movement {
            key: hold.subject.key("reserve"),
            kind: "reserve",
            workspace: Some(hold.payer),
            run: hold.subject.run(),
            trial: hold.subject.trial(),
            agent: Some(hold.agent),
            memo: "Held for a run".to_owned(),
            by: None,
            legs: vec![(wallet, -hold.price), (held, hold.price)],
        },
    )
    .await?;
    Ok(())
}

/// Charges a run that succeeded: its held price goes to the creator's
/// earnings and the platform's revenue. Once per run.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    billing: Billing,
    hold: Hold,
    creator: Uuid,
) -> Result<(), ServiceError> {
    let [(held, _), (earnings, _), (revenue, _)] = accounts(
        conn,
        [
            (Account::Held, Some(hold.payer)),
            (Account::Earnings, Some(creator)),
            (Account::Revenue, None),
        ],
    )
    .await?;
    let (share, fee) = billing.split(hold.price);
    post(
        conn,
        Movement {
            key: hold.subject.key("settle"),
            kind: "settle",
            workspace: Some(hold.payer),
            run: hold.subject.run(),
            trial: hold.subject.trial(),
            agent: Some(hold.agent),
            memo: "Run charged".to_owned(),
            by: None,
            legs: vec![(held, -hold.price), (earnings, share), (revenue, fee)],
        },
    )
    .await?;
    Ok(())
}

/// Gives a run's held price back to the payer's wallet. Once per run:
/// `Posted::Before` when it had been.
pub async fn release(conn: &mut AsyncPgConnection, hold: Hold) -> Result<Posted, ServiceError> {
    let [(held, _), (wallet, _)] = accounts(
        conn,
        [
            (Account::Held, Some(hold.payer)),
            (Account::Wallet, Some(hold.payer)),
        ],
    )
    .await?;
    post(
        conn,
        Movement {
            key: hold.subject.key("release"),
            kind: "release",
            workspace: Some(hold.payer),
            run: hold.subject.run(),
            trial: hold.subject.trial(),
            agent: Some(hold.agent),
            memo: "Run not charged".to_owned(),
            by: None,
            legs: vec![(held, -hold.price), (wallet, hold.price)],
        },
    )
    .await
}
