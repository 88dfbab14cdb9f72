//! Reading the ledger: a workspace's wallet, its lines in pages, and its
//! usage per day and agent.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::{ledger_accounts, ledger_entries, ledger_transactions, workspaces};
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::billing::{LedgerLine, LedgerPage, Usage, UsageRow, Wallet};

use super::Account;
use super::balance;
use super::find_account;

/// The workspace a billing request is about: `slug`, or the caller's own
/// (an API key's workspace, else the personal one); members and up.
pub(super) async fn billing_workspace(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    slug: Option<&str>,
) -> Result<(Uuid, String), ServiceError> {
    actor.require_scope(Scope::BillingRead)?;
    let user = actor.require_user()?;
    let id = match (slug.map(str::trim).filter(|s| !s.is_empty()), actor) {
        (Some(slug), _) => workspaces::table
            .filter(workspaces::slug.eq(slug))
            .select(workspaces::id)
            .first(conn)
            .await
            .optional()?
            .ok_or(ServiceError::NotFound { what: "workspace" })?,
        (None, Actor::ApiKey { workspace_id, .. }) => workspace_id.0,
        (None, _) => access::personal_workspace(conn, user).await?.0,
    };
    access::require_role(conn, actor, WorkspaceId(id), Role::Member).await?;
    let slug = workspaces::table
        .find(id)
        .select(workspaces::slug)
        .first(conn)
        .await?;
    Ok((id, slug))
}

/// A workspace's balances.
pub async fn wallet(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
) -> Result<Wallet, ServiceError> {
    let mut conn = services.conn().await?;
    let (id, slug) = billing_workspace(&mut conn, actor, workspace).await?;
    Ok(Wallet {
        workspace: slug,
        balance: balance(&mut conn, Account::Wallet, id).await?,
        held: balance(&mut conn, Account::Held, id).await?,
        earnings: balance(&mut conn, Account::Earnings, id).await?,
        top_up: services.payments.as_ref().map(|payments| payments.top_up()),
    })
}

/// How many ledger lines a page has at most.
pub(super) const PAGE_LINES: i64 = 100;

/// A workspace's ledger lines, newest first, after `cursor` (from
/// `next_cursor`: the last line's transaction and entry).
pub async fn lines(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<LedgerPage, ServiceError> {
    let before = cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.split_once('.')
                .and_then(|(t, e)| Some((t.parse::<i64>().ok()?, e.parse::<i64>().ok()?)))
                .ok_or_else(|| ServiceError::invalid("cursor", "is not one this API gave"))
        })
        .transpose()?;
    let limit = limit.unwrap_or(PAGE_LINES);
    if !(1..=PAGE_LINES).contains(&limit) {
        return Err(ServiceError::invalid(
            "limit",
            format!("must be from 1 to {PAGE_LINES}"),
        ));
    }
    let mut conn = services.conn().await?;
    let (id, _) = billing_workspace(&mut conn, actor, workspace).await?;
    page(&mut conn, id, before, limit).await
}

/// Up to `limit` of a workspace's lines before `before` (transaction,
/// entry), newest first.
pub(super) async fn page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    before: Option<(i64, i64)>,
    limit: i64,
) -> Result<LedgerPage, ServiceError> {
    use crate::schema::agents;
    let mut query = ledger_entries::table
        .inner_join(ledger_transactions::table)
        .inner_join(ledger_accounts::table)
        .left_join(agents::table.on(agents::id.nullable().eq(ledger_transactions::agent_id)))
        .filter(ledger_accounts::workspace_id.eq(id))
        .into_boxed();
    if let Some((transaction, entry)) = before {
        query = query.filter(
            ledger_transactions::id
                .lt(transaction)
                .or(ledger_transactions::id
                    .eq(transaction)
                    .and(ledger_entries::id.lt(entry))),
        );
    }
    type Row = (
        i64,
        i64,
        String,
        String,
        i64,
        String,
        Option<Uuid>,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
    );
    let rows: Vec<Row> = query
        .select((
            ledger_transactions::id,
            ledger_entries::id,
            ledger_transactions::kind,
            ledger_accounts::kind,
            ledger_entries::amount,
            ledger_transactions::memo,
            ledger_transactions::run_id,
            agents::slug.nullable(),
            ledger_transactions::created_at,
        ))
        .order((ledger_transactions::id.desc(), ledger_entries::id.desc()))
        .limit(limit + 1)
        .load(conn)
        .await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = more
        .then(|| rows.last().map(|row| format!("{}.{}", row.0, row.1)))
        .flatten();
    let items = rows
        .iter()
        .cloned()
        .map(
            |(transaction, entry, kind, account, amount, memo, run, agent, at)| LedgerLine {
                transaction,
                entry,
                kind,
                account,
                amount,
                memo,
                run,
                agent,
                at,
            },
        )
        .collect();
    Ok(LedgerPage { items, next_cursor })
}

/// Paid runs of the last `days` days (1 to 366, default 30) by day and
/// agent: what the workspace spent and what its agents earned.
pub async fn usage(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
    days: Option<i64>,
) -> Result<Usage, ServiceError> {
    let days = days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ServiceError::invalid("days", "must be from 1 to 366"));
    }
    let mut conn = services.conn().await?;
    let (id, slug) = billing_workspace(&mut conn, actor, workspace).await?;
    let today = chrono::Utc::now().date_naive();
    let since = today - chrono::Days::new(days as u64 - 1);
    let start = since.and_time(chrono::NaiveTime::MIN).and_utc();
    let spent = match find_account(&mut conn, Account::Held, Some(id)).await? {
        Some(held) => usage_rows(&mut conn, held, -1, start).await?,
        None => Vec::new(),
    };
    let earned = match find_account(&mut conn, Account::Earnings, Some(id)).await? {
        Some(earnings) => usage_rows(&mut conn, earnings, 1, start).await?,
        None => Vec::new(),
    };
    Ok(Usage {
        workspace: slug,
        since: since.format("%Y-%m-%d").to_string(),
        days,
        spent,
        earned,
    })
}

#[derive(QueryableByName)]
pub(super) struct UsageRecord {
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    agent: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    agent_name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    credits: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    runs: i64,
}

/// Charges moved through `account` since `start` by day and agent, signed
/// so that they count up.
pub(super) async fn usage_rows(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    sign: i64,
    start: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<UsageRow>, ServiceError> {
    let rows: Vec<UsageRecord> = diesel::sql_query(
        "SELECT to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, \
                coalesce(a.slug, '') AS agent, coalesce(a.name, '') AS agent_name, \
                (sum(e.amount) * $2)::bigint AS credits, count(*) AS runs \
         FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         LEFT JOIN agents a ON a.id = t.agent_id \
         WHERE e.account_id = $1 AND t.kind = 'settle' AND t.created_at >= $3 \
         GROUP BY 1, 2, 3 ORDER BY 1, 2",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .bind::<diesel::sql_types::BigInt, _>(sign)
    .bind::<diesel::sql_types::Timestamptz, _>(start)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| UsageRow {
            day: row.day,
            agent: row.agent,
            agent_name: row.agent_name,
            credits: row.credits,
            runs: row.runs,
        })
        .collect())
}
