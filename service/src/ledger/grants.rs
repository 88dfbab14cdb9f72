//! Credits from nowhere but the platform: starter credits for a new
//! account and administrators' grants, each once per idempotency key.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use diesel_async::AsyncConnection as _;

use crate::actor::{Actor, RequestMeta};
use crate::schema::{ledger_entries, ledger_transactions, workspaces};
use crate::{ServiceError, Services};
use types::billing::{GrantCredits, Granted};

use super::Account;
use super::Billing;
use super::Movement;
use super::account;
use super::balance;
use super::post;

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
            trial: None,
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
    crate::jobs::require_admin(&mut conn, actor).await?;
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
    crate::idempotency::check_key(idempotency_key.as_deref(), 100)?;
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
                    trial: None,
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
pub(super) const MAX_GRANT: i64 = 10_000_000;
