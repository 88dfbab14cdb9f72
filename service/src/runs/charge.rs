//! The money of a run's ending: a succeeded run is charged (creator's share
//! and platform fee), any other ending gives the held price back.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::runs;
use crate::{ServiceError, ledger, spend};
use types::deploy::{RunError, RunStatus};

use super::RunRecord;
use super::execute::announce;
use super::start::pricing;

/// How a run that never recorded an outcome ends.
pub(super) enum Ending {
    Cancelled,
    Failed(RunError),
    /// Its process died: failed, only if its lease has indeed run out.
    Orphaned(RunError),
}

/// Ends a run that is still `from` (and not taken meanwhile) and announces
/// it; false when it was not `from` any more.
pub(super) async fn end(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    ending: Ending,
    from: RunStatus,
) -> Result<bool, ServiceError> {
    let orphaned = matches!(ending, Ending::Orphaned(_));
    let (status, error) = match ending {
        Ending::Cancelled => (RunStatus::Cancelled, None),
        Ending::Failed(error) | Ending::Orphaned(error) => (RunStatus::Failed, Some(error)),
    };
    conn.transaction::<_, ServiceError, _>(async |conn| {
        // The conditions are on the row updated itself, not in a subquery:
        // after waiting for a run's lock (its end statement, say) the
        // database checks them again on the row as it is then, while a
        // subquery would keep the row as it was (`running`), and a run
        // that just succeeded would be ended twice.
        let record: Option<RunRecord> = diesel::update(runs::table.find(run_id))
            .filter(runs::status.eq(from.as_str()))
            .filter(
                (!orphaned)
                    .into_sql::<diesel::sql_types::Bool>()
                    .or(runs::lease_until.lt(Utc::now())),
            )
            .set((
                runs::status.eq(status.as_str()),
                runs::error.eq(error.as_ref().and_then(|e| serde_json::to_value(e).ok())),
                runs::runner.eq(None::<String>),
                runs::lease_until.eq(None::<chrono::DateTime<Utc>>),
                runs::finished_at.eq(Utc::now()),
            ))
            .returning(RunRecord::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        match record {
            Some(record) => {
                announce(conn, &record, error.map(|e| e.message)).await?;
                release_held(conn, &record).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    })
    .await
}

/// Charges a run that succeeded and gives back what any other ending held
/// (the rule in `ledger`), in the transaction that records its end.
pub(super) async fn bill(
    conn: &mut AsyncPgConnection,
    billing: ledger::Billing,
    record: &RunRecord,
    status: RunStatus,
) -> Result<(), ServiceError> {
    if status != RunStatus::Succeeded {
        return release_held(conn, record).await;
    }
    if record.price_credits == 0 {
        return Ok(());
    }
    let (agent, creator, _, _) = pricing(conn, record.deployment_id).await?;
    if let Some(hold) = record.hold(agent) {
        ledger::settle(conn, billing, hold, creator).await?;
    }
    Ok(())
}

pub(super) async fn release_held(
    conn: &mut AsyncPgConnection,
    record: &RunRecord,
) -> Result<(), ServiceError> {
    if record.price_credits == 0 {
        return Ok(());
    }
    let (agent, _, _, _) = pricing(conn, record.deployment_id).await?;
    let Some(hold) = record.hold(agent) else {
        return Ok(());
    };
    if ledger::release(conn, hold).await? == ledger::Posted::Now {
        spend::give_back(
            conn,
            record.deployment_id,
            record.api_key_id,
            record.embed_id,
            record.created_at,
            hold.price,
        )
        .await?;
    }
    Ok(())
}
