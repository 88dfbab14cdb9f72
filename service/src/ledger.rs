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

use diesel_async::AsyncConnection as _;

use super::actor::{Actor, RequestMeta};
use super::schema::{ledger_accounts, ledger_entries, ledger_transactions, workspaces};
use super::{ServiceError, Services, access};
use types::account::{Role, Scope};
use types::billing::{GrantCredits, Granted, LedgerLine, LedgerPage, Usage, UsageRow, Wallet};
use types::{UserId, WorkspaceId};

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
                 (idempotency_key, kind, workspace_id, run_id, agent_id, memo, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
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

/// A new workspace's starter credits.
pub async fn grant_starter(
    conn: &mut AsyncPgConnection,
    billing: Billing,
    workspace: Uuid,
) -> Result<(), ServiceError> {
    let wallet = account(conn, Account::Wallet, Some(workspace)).await?;
    let grants = account(conn, Account::Grants, None).await?;
    post(
        conn,
        Movement {
            key: format!("starter:{workspace}"),
            kind: "starter",
            workspace: Some(workspace),
            run: None,
            agent: None,
            memo: "Starter credits".to_owned(),
            by: None,
            legs: vec![
                (wallet, billing.starter_credits),
                (grants, -billing.starter_credits),
            ],
        },
    )
    .await?;
    Ok(())
}

/// A platform administrator gives a workspace credits, with a reason (the
/// memo of the movement and so of its audit line, with the admin and their
/// address). The same `idempotency_key` again grants once.
pub async fn admin_grant(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    grant: GrantCredits,
    idempotency_key: Option<String>,
) -> Result<Granted, ServiceError> {
    let mut conn = services.conn().await?;
    super::jobs::require_admin(&mut conn, actor).await?;
    let admin = actor.require_session()?;
    if !(1..=MAX_GRANT).contains(&grant.credits) {
        return Err(ServiceError::invalid(
            "credits",
            format!("must be from 1 to {MAX_GRANT}"),
        ));
    }
    let reason = grant.reason.trim().to_owned();
    if !(3..=500).contains(&reason.chars().count()) {
        return Err(ServiceError::invalid(
            "reason",
            "say why, in 3 to 500 characters (it goes into the audit log)",
        ));
    }
    if let Some(key) = &idempotency_key
        && (key.is_empty() || key.len() > 100)
    {
        return Err(ServiceError::invalid(
            "idempotency_key",
            "must be 1 to 100 characters",
        ));
    }
    let (workspace, slug): (Uuid, String) = workspaces::table
        .filter(workspaces::slug.eq(grant.workspace.trim()))
        .select((workspaces::id, workspaces::slug))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "workspace" })?;
    let key = format!(
        "grant:{}",
        idempotency_key.unwrap_or_else(|| Uuid::new_v4().to_string())
    );
    let credits = grant.credits;
    let ip = meta.ip.clone();
    let transaction = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            diesel::sql_query("SELECT set_config('agentdeck.audit_ip', $1, true)")
                .bind::<diesel::sql_types::Text, _>(&ip)
                .execute(conn)
                .await?;
            let wallet = account(conn, Account::Wallet, Some(workspace)).await?;
            let grants = account(conn, Account::Grants, None).await?;
            post(
                conn,
                Movement {
                    key: key.clone(),
                    kind: "grant",
                    workspace: Some(workspace),
                    run: None,
                    agent: None,
                    memo: reason.clone(),
                    by: Some(admin),
                    legs: vec![(wallet, credits), (grants, -credits)],
                },
            )
            .await?;
            // The key's grant: this one, or an earlier one that must be the
            // same grant.
            let (id, posted_to, memo, amount): (i64, Option<Uuid>, String, i64) =
                ledger_entries::table
                    .inner_join(ledger_transactions::table)
                    .filter(ledger_transactions::idempotency_key.eq(&key))
                    .filter(ledger_entries::account_id.eq(wallet))
                    .select((
                        ledger_transactions::id,
                        ledger_transactions::workspace_id,
                        ledger_transactions::memo,
                        ledger_entries::amount,
                    ))
                    .first(conn)
                    .await
                    .optional()?
                    .unwrap_or((0, None, String::new(), 0));
            if (posted_to, memo.as_str(), amount) != (Some(workspace), reason.as_str(), credits) {
                return Err(ServiceError::Conflict {
                    field: "idempotency_key",
                    message: "was used for another grant".to_owned(),
                });
            }
            Ok(id)
        })
        .await?;
    Ok(Granted {
        transaction,
        workspace: slug,
        balance: balance(&mut conn, Account::Wallet, workspace).await?,
    })
}

/// The most one grant gives.
const MAX_GRANT: i64 = 10_000_000;

/// What a run holds: its price, paid by `payer` for `agent`.
#[derive(Clone, Copy, Debug)]
pub struct Hold {
    pub run: Uuid,
    pub payer: Uuid,
    pub agent: Uuid,
    pub price: i64,
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
            key: format!("run:{}:reserve", hold.run),
            kind: "reserve",
            workspace: Some(hold.payer),
            run: Some(hold.run),
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
            key: format!("run:{}:settle", hold.run),
            kind: "settle",
            workspace: Some(hold.payer),
            run: Some(hold.run),
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
            key: format!("run:{}:release", hold.run),
            kind: "release",
            workspace: Some(hold.payer),
            run: Some(hold.run),
            agent: Some(hold.agent),
            memo: "Run not charged".to_owned(),
            by: None,
            legs: vec![(held, -hold.price), (wallet, hold.price)],
        },
    )
    .await
}

/// The workspace a billing request is about: `slug`, or the caller's own
/// (an API key's workspace, else the personal one); members and up.
async fn billing_workspace(
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
const PAGE_LINES: i64 = 100;

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
async fn page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    before: Option<(i64, i64)>,
    limit: i64,
) -> Result<LedgerPage, ServiceError> {
    use super::schema::agents;
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
struct UsageRecord {
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
async fn usage_rows(
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

/// A workspace's whole ledger as CSV, newest line first (as the API pages
/// it): its file name and the text, a page of lines at a time (the export
/// is never held in memory whole).
pub async fn csv(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
) -> Result<
    (
        String,
        impl futures::Stream<Item = Result<String, ServiceError>> + Send + 'static,
    ),
    ServiceError,
> {
    let (id, slug) = {
        let mut conn = services.conn().await?;
        billing_workspace(&mut conn, actor, workspace).await?
    };
    let services = services.clone();
    // `None`: done; else the text so far and where to read on.
    let start = Some((Some(CSV_HEADER.to_owned()), None::<(i64, i64)>));
    let chunks = futures::stream::unfold(start, move |state| {
        let services = services.clone();
        async move {
            let (header, before) = state?;
            let lines = match services.conn().await {
                Ok(mut conn) => page(&mut conn, id, before, CSV_PAGE).await,
                Err(error) => Err(error),
            };
            let lines = match lines {
                Ok(lines) => lines,
                Err(error) => return Some((Err(error), None)),
            };
            let mut text = header.unwrap_or_default();
            for line in &lines.items {
                text.push_str(&csv_row(line));
            }
            let next = match lines.items.last() {
                Some(last) if lines.next_cursor.is_some() => {
                    Some((None, Some((last.transaction, last.entry))))
                }
                _ => None,
            };
            Some((Ok(text), next))
        }
    });
    Ok((format!("agentdeck-ledger-{slug}.csv"), chunks))
}

const CSV_HEADER: &str = "transaction,entry,at,kind,account,amount,memo,run,agent\r\n";

fn csv_row(line: &LedgerLine) -> String {
    let fields = [
        line.transaction.to_string(),
        line.entry.to_string(),
        line.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        line.kind.clone(),
        line.account.clone(),
        line.amount.to_string(),
        csv_text(&line.memo),
        line.run.map(|run| run.to_string()).unwrap_or_default(),
        csv_text(line.agent.as_deref().unwrap_or_default()),
    ];
    let mut row = fields.join(",");
    row.push_str("\r\n");
    row
}

/// Lines read per query for a CSV export.
const CSV_PAGE: i64 = 1000;

/// A text cell: quoted when it must be (RFC 4180), and never read as a
/// formula by a spreadsheet (a leading `=`, `+`, `-` or `@` is escaped).
fn csv_text(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::{Billing, csv_text};

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
