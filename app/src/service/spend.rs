//! Monthly spend caps, per deployment and per API key. What counts against
//! a cap is what runs started in the calendar month (UTC) cost: the price
//! of runs still in flight (held) and the charge of those that ended (a
//! run that failed costs nothing). A run that would go past a cap is
//! refused with 402, naming the cap, before anything is held or runs.
//!
//! Checked in the run's start transaction, under the deployment's row lock
//! (and the key's, for a key's cap), so concurrent starts cannot both slip
//! under a cap.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ServiceError;
use super::schema::{api_keys, runs};

/// The first instant of `now`'s calendar month, UTC.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// Checks a cap value from a request: `None` lifts the cap.
pub fn check_cap(field: &'static str, cap: Option<i64>) -> Result<(), ServiceError> {
    match cap {
        Some(cap) if !(0..=1_000_000_000).contains(&cap) => Err(ServiceError::invalid(
            field,
            "must be from 0 to 1,000,000,000 credits a month, or null for no cap",
        )),
        _ => Ok(()),
    }
}

/// Held plus charged credits of runs started since `since`.
fn spent() -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(
        "coalesce(sum(CASE WHEN status IN ('queued', 'running') \
         THEN price_credits ELSE charged_credits END), 0)::bigint",
    )
}

/// What runs of a deployment cost this month so far.
pub async fn by_deployment(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<i64, ServiceError> {
    Ok(runs::table
        .filter(runs::deployment_id.eq(deployment))
        .filter(runs::created_at.ge(month_start(Utc::now())))
        .filter(runs::price_credits.gt(0))
        .select(spent())
        .get_result(conn)
        .await?)
}

/// What runs started with each of `keys` cost this month so far.
pub async fn by_keys(
    conn: &mut AsyncPgConnection,
    keys: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, ServiceError> {
    let rows: Vec<(Option<Uuid>, i64)> = runs::table
        .filter(runs::api_key_id.eq_any(keys))
        .filter(runs::created_at.ge(month_start(Utc::now())))
        .filter(runs::price_credits.gt(0))
        .group_by(runs::api_key_id)
        .select((runs::api_key_id, spent()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, spent)| Some((key?, spent)))
        .collect())
}

/// What runs started with `key` cost this month so far.
pub async fn by_key(conn: &mut AsyncPgConnection, key: Uuid) -> Result<i64, ServiceError> {
    Ok(by_keys(conn, &[key])
        .await?
        .into_iter()
        .next()
        .map_or(0, |(_, spent)| spent))
}

fn refuse(field: &'static str, what: &str, cap: i64, spent: i64, price: i64) -> ServiceError {
    ServiceError::SpendCapReached {
        field,
        message: format!(
            "this run costs {price} credits and the {what}'s monthly spend cap is {cap} \
             ({spent} spent this month); raise the cap or wait for next month"
        ),
    }
}

/// Refuses a run of `price` that would take the deployment (capped at
/// `deployment_cap`) or the API key `key` past its monthly cap. Call in the
/// start transaction with the deployment's row locked; locks the key's row.
pub async fn check(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    deployment_cap: Option<i64>,
    key: Option<Uuid>,
    price: i64,
) -> Result<(), ServiceError> {
    if price == 0 {
        return Ok(());
    }
    if let Some(cap) = deployment_cap {
        let spent = by_deployment(conn, deployment).await?;
        if spent + price > cap {
            return Err(refuse(
                "deployment.spend_cap_credits",
                "deployment",
                cap,
                spent,
                price,
            ));
        }
    }
    if let Some(key) = key {
        let cap: Option<i64> = api_keys::table
            .find(key)
            .for_no_key_update()
            .select(api_keys::spend_cap_credits)
            .first(conn)
            .await?;
        if let Some(cap) = cap {
            let spent = by_key(conn, key).await?;
            if spent + price > cap {
                return Err(refuse(
                    "api_key.spend_cap_credits",
                    "API key",
                    cap,
                    spent,
                    price,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::month_start;

    #[test]
    fn a_month_starts_on_its_first_at_midnight_utc() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap();
        assert_eq!(
            month_start(now),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        let first = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(month_start(first), first);
    }
}
