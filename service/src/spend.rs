//! Monthly spend caps, per deployment and per API key, and the daily cap
//! of a web embed (scope `embed`, whose counter's `month` is the UTC day). What counts against
//! a cap is what paid runs started in the calendar month (UTC) cost: the
//! price of runs in flight (held) and of those charged; a run whose hold is
//! given back costs nothing. A run that would go past a cap is refused with
//! 402, naming the cap, before anything runs.
//!
//! The spend is a counter per deployment, per key and per month
//! (`spend_months`, migration 000017), moved with the ledger: up by the
//! price when a run's price is held, down when the hold is given back. A
//! start checks the cap and moves the counter in one statement, so no check
//! reads the month's runs, and concurrent starts cannot both slip under a
//! cap. The counters are the last rows a start or an ending locks (after
//! the ledger's accounts).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ServiceError;
use super::schema::api_keys;

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

#[derive(Clone, Copy)]
enum Scope {
    Deployment,
    ApiKey,
    /// A web embed's runs, counted per UTC day.
    Embed,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "deployment",
            Self::ApiKey => "api_key",
            Self::Embed => "embed",
        }
    }

    /// The counter's period now, in SQL (the transaction's clock, as the
    /// run's `created_at`): this month, or today for an embed.
    fn now(self) -> &'static str {
        match self {
            Self::Deployment | Self::ApiKey => THIS_MONTH,
            Self::Embed => TODAY,
        }
    }

    /// The period of `$3` (a run's start), in SQL.
    fn of_started(self) -> &'static str {
        match self {
            Self::Deployment | Self::ApiKey => "date_trunc('month', $3 AT TIME ZONE 'UTC')::date",
            Self::Embed => "($3 AT TIME ZONE 'UTC')::date",
        }
    }
}

/// This month, in SQL (the transaction's clock, as the run's `created_at`).
const THIS_MONTH: &str = "date_trunc('month', now() AT TIME ZONE 'UTC')::date";
/// Today (UTC), in SQL.
const TODAY: &str = "(now() AT TIME ZONE 'UTC')::date";

/// Adds `price` to `owner`'s spend this month unless that would pass
/// `cap`; whether it did.
async fn add_within_cap(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    owner: Uuid,
    price: i64,
    cap: Option<i64>,
    period: Option<NaiveDate>,
) -> Result<bool, ServiceError> {
    let now = scope.now();
    let added = diesel::sql_query(format!(
        "INSERT INTO spend_months AS s (scope, owner, month, spent, cap) \
         SELECT $1, $2, coalesce($5::date, {now}), $3, $4 WHERE $3 <= coalesce($4, $3) \
         ON CONFLICT (scope, owner, month) \
         DO UPDATE SET spent = s.spent + EXCLUDED.spent, cap = EXCLUDED.cap \
         WHERE s.spent + EXCLUDED.spent <= coalesce($4, s.spent + EXCLUDED.spent)"
    ))
    .bind::<Text, _>(scope.as_str())
    .bind::<SqlUuid, _>(owner)
    .bind::<BigInt, _>(price)
    .bind::<Nullable<BigInt>, _>(cap)
    .bind::<Nullable<Date>, _>(period)
    .execute(conn)
    .await?;
    Ok(added == 1)
}

/// Counts a paid run's `price` against its deployment's cap and its key's
/// (when started with one), or refuses it with 402 naming the cap. Call in
/// the start transaction, after its price is held.
pub async fn charge_caps(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    deployment_cap: Option<i64>,
    key: Option<Uuid>,
    embed: Option<Uuid>,
    price: i64,
) -> Result<(), ServiceError> {
    if price == 0 {
        return Ok(());
    }
    let key_cap = key_cap(conn, key).await?;
    let embed_cap = embed_cap(conn, embed).await?;
    within_caps(
        conn,
        [
            (Scope::Deployment, Some(deployment), deployment_cap),
            (Scope::ApiKey, key, key_cap),
            (Scope::Embed, embed, embed_cap),
        ],
        None,
        price,
    )
    .await
}

/// Whose monthly caps a charge that is not a run's price counts against:
/// a model call's (its run's deployment and key) or a try's (its key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capped {
    pub deployment: Option<Uuid>,
    pub key: Option<Uuid>,
    /// The web embed whose daily cap a run's model calls count against,
    /// and the UTC day its run started (the day they count in, whenever
    /// they are made or settled).
    pub embed: Option<(Uuid, NaiveDate)>,
}

/// Counts `amount` against `capped`'s monthly caps (read from their rows),
/// or refuses it with 402 naming the cap.
pub async fn charge(
    conn: &mut AsyncPgConnection,
    capped: Capped,
    amount: i64,
) -> Result<(), ServiceError> {
    use super::schema::deployments;
    if amount <= 0 {
        return Ok(());
    }
    let deployment_cap = match capped.deployment {
        Some(deployment) => deployments::table
            .find(deployment)
            .select(deployments::spend_cap_credits)
            .first::<Option<i64>>(conn)
            .await
            .optional()?
            .flatten(),
        None => None,
    };
    let key_cap = key_cap(conn, capped.key).await?;
    let embed = capped.embed.map(|(embed, _)| embed);
    let embed_cap = embed_cap(conn, embed).await?;
    within_caps(
        conn,
        [
            (Scope::Deployment, capped.deployment, deployment_cap),
            (Scope::ApiKey, capped.key, key_cap),
            (Scope::Embed, embed, embed_cap),
        ],
        capped.embed.map(|(_, day)| day),
        amount,
    )
    .await
}

/// The daily cap of `embed`, if it has one.
async fn embed_cap(
    conn: &mut AsyncPgConnection,
    embed: Option<Uuid>,
) -> Result<Option<i64>, ServiceError> {
    use super::schema::embeds;
    let Some(embed) = embed else { return Ok(None) };
    Ok(embeds::table
        .find(embed)
        .select(embeds::daily_cap_credits)
        .first::<Option<i64>>(conn)
        .await
        .optional()?
        .flatten())
}

/// The monthly cap of `key`, if it has one.
async fn key_cap(
    conn: &mut AsyncPgConnection,
    key: Option<Uuid>,
) -> Result<Option<i64>, ServiceError> {
    let Some(key) = key else { return Ok(None) };
    Ok(api_keys::table
        .find(key)
        .select(api_keys::spend_cap_credits)
        .first::<Option<i64>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Adds `amount` to each owner's spend this month, or refuses (402, naming
/// the first cap it would pass).
async fn within_caps(
    conn: &mut AsyncPgConnection,
    owners: [(Scope, Option<Uuid>, Option<i64>); 3],
    embed_day: Option<NaiveDate>,
    amount: i64,
) -> Result<(), ServiceError> {
    for (scope, owner, cap) in owners {
        let Some(owner) = owner else { continue };
        let period = match scope {
            Scope::Embed => embed_day,
            Scope::Deployment | Scope::ApiKey => None,
        };
        if !add_within_cap(conn, scope, owner, amount, cap, period).await? {
            let spent = this_period(conn, scope, &[owner])
                .await?
                .into_iter()
                .next()
                .map_or(0, |(_, spent)| spent);
            let (field, what) = match scope {
                Scope::Deployment => ("deployment.spend_cap_credits", "deployment"),
                Scope::ApiKey => ("api_key.spend_cap_credits", "API key"),
                Scope::Embed => {
                    return Err(ServiceError::SpendCapReached {
                        field: "embed.daily_cap_credits",
                        message: format!(
                            "this costs {amount} credits and the embed's daily spend cap is \
                             {} ({spent} spent today); raise the cap or wait for tomorrow (UTC)",
                            cap.unwrap_or(0)
                        ),
                    });
                }
            };
            return Err(ServiceError::SpendCapReached {
                field,
                message: format!(
                    "this costs {amount} credits and the {what}'s monthly spend cap is \
                     {} ({spent} spent this month); raise the cap or wait for next month",
                    cap.unwrap_or(0)
                ),
            });
        }
    }
    Ok(())
}

/// Takes `amount` off `capped`'s spend this month (what a hold did not
/// cost after all).
pub async fn give_back_now(
    conn: &mut AsyncPgConnection,
    capped: Capped,
    amount: i64,
) -> Result<(), ServiceError> {
    if amount <= 0 {
        return Ok(());
    }
    let owners = [
        (Scope::Deployment, capped.deployment, None),
        (Scope::ApiKey, capped.key, None),
        (
            Scope::Embed,
            capped.embed.map(|(embed, _)| embed),
            capped.embed.map(|(_, day)| day),
        ),
    ];
    for (scope, owner, period) in owners {
        let Some(owner) = owner else { continue };
        let now = scope.now();
        diesel::sql_query(format!(
            "UPDATE spend_months SET spent = greatest(spent - $3, 0) \
             WHERE scope = $1 AND owner = $2 AND month = coalesce($4::date, {now})"
        ))
        .bind::<Text, _>(scope.as_str())
        .bind::<SqlUuid, _>(owner)
        .bind::<BigInt, _>(amount)
        .bind::<Nullable<Date>, _>(period)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Takes a run's `price` off the spend of the month it started in, when
/// its hold is given back. Call after the ledger's release.
pub async fn give_back(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    key: Option<Uuid>,
    embed: Option<Uuid>,
    started: chrono::DateTime<chrono::Utc>,
    price: i64,
) -> Result<(), ServiceError> {
    let owners = [
        (Scope::Deployment, Some(deployment)),
        (Scope::ApiKey, key),
        (Scope::Embed, embed),
    ];
    for (scope, owner) in owners {
        let Some(owner) = owner else { continue };
        let period = scope.of_started();
        diesel::sql_query(format!(
            "UPDATE spend_months SET spent = spent - $4 WHERE scope = $1 AND owner = $2 \
             AND month = {period}"
        ))
        .bind::<Text, _>(scope.as_str())
        .bind::<SqlUuid, _>(owner)
        .bind::<Timestamptz, _>(started)
        .bind::<BigInt, _>(price)
        .execute(conn)
        .await?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct OwnerSpent {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(sql_type = BigInt)]
    spent: i64,
}

async fn this_period(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    owners: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, ServiceError> {
    let period = scope.now();
    let rows: Vec<OwnerSpent> = diesel::sql_query(format!(
        "SELECT owner, spent FROM spend_months \
         WHERE scope = $1 AND owner = ANY($2) AND month = {period}"
    ))
    .bind::<Text, _>(scope.as_str())
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(owners)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.owner, row.spent)).collect())
}

/// What runs of a deployment cost this month so far.
pub async fn by_deployment(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<i64, ServiceError> {
    Ok(this_period(conn, Scope::Deployment, &[deployment])
        .await?
        .into_iter()
        .next()
        .map_or(0, |(_, spent)| spent))
}

/// What runs started with each of `keys` cost this month so far (keys
/// that spent nothing are left out).
pub async fn by_keys(
    conn: &mut AsyncPgConnection,
    keys: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, ServiceError> {
    this_period(conn, Scope::ApiKey, keys).await
}

/// What runs of an embed cost today (UTC) so far.
pub async fn by_embed_today(
    conn: &mut AsyncPgConnection,
    embed: Uuid,
) -> Result<i64, ServiceError> {
    Ok(this_period(conn, Scope::Embed, &[embed])
        .await?
        .into_iter()
        .next()
        .map_or(0, |(_, spent)| spent))
}

/// What runs started with `key` cost this month so far.
pub async fn by_key(conn: &mut AsyncPgConnection, key: Uuid) -> Result<i64, ServiceError> {
    Ok(by_keys(conn, &[key])
        .await?
        .into_iter()
        .next()
        .map_or(0, |(_, spent)| spent))
}
