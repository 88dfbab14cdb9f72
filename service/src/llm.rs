//! Paying for the language model: the models the operator offers and their
//! prices, and the meter that makes each run (or test run, or try) pay for
//! the tokens it used.
//!
//! Before a call the sandbox asks the meter to hold the call's worst case
//! (its prompt's bound plus `max_tokens`) from the payer's wallet; a wallet
//! that cannot pay it refuses the call before anything is sent. After the
//! call the hold settles to the tokens the provider reported: that much
//! goes to the platform's revenue, the rest back to the wallet. Prices are
//! credits per 1,000 tokens; a run is charged the exact sum of its calls,
//! rounded up to a whole credit once (each call pays the difference the
//! running total makes, so rounding never adds up).
//!
//! A deployment that brings its own provider key (the secret
//! `LLM_API_KEY`) has its tokens recorded, and charged nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use runtime::CallError;
use runtime::llm::{LlmMeter, MeterHold, Tokens};
use uuid::Uuid;

use diesel_async::AsyncConnection as _;

use crate::ledger::{self, Account, Movement, Subject};
use crate::models::Models;
use crate::spend::{self, Capped};
use crate::{ServiceError, Services};

/// The secret a deployment sets to call the model with its own key.
pub const OWN_KEY_SECRET: &str = "LLM_API_KEY";

/// The model a run calls and the meter it pays through: with `own_key`
/// (the payer's own provider key) the provider is called with that key and
/// tokens are recorded but not charged.
pub fn for_run(
    services: &Services,
    own_key: Option<&str>,
    payer: Uuid,
    agent: Uuid,
    subject: Subject,
    capped: Capped,
) -> Result<(Arc<dyn runtime::llm::LlmProvider>, Arc<LedgerMeter>), ServiceError> {
    let sandbox = crate::sandbox::of(services)?;
    let own_key = own_key.map(str::trim).filter(|key| !key.is_empty());
    let (provider, charges) = match own_key.and_then(|key| sandbox.llm.with_api_key(key)) {
        Some(provider) => (provider, false),
        // The offline stand-in (no `AGENTDECK_LLM_BASE_URL`) costs nothing.
        None => (
            Arc::clone(&sandbox.llm),
            sandbox.llm.default_model() != runtime::llm::OFFLINE_MODEL,
        ),
    };
    let meter = LedgerMeter::new(services, payer, agent, subject, charges, capped)?;
    Ok((provider, meter))
}

/// Who pays for one run's model calls, and what they came to.
pub struct LedgerMeter {
    services: Services,
    models: Models,
    default_model: String,
    payer: Uuid,
    agent: Uuid,
    subject: Subject,
    /// False when the model is called with the payer's own key.
    charges: bool,
    /// The monthly spend caps model calls count against.
    capped: Capped,
    state: Mutex<MeterState>,
}

#[derive(Default)]
struct MeterState {
    next_call: u64,
    /// The run's calls so far, in thousandths of a credit.
    cost_millis: i128,
    /// Whole credits charged so far.
    charged: i64,
    /// Calls held and not yet settled (a call the run's deadline cut off).
    open: HashMap<u64, i64>,
}

impl LedgerMeter {
    pub fn new(
        services: &Services,
        payer: Uuid,
        agent: Uuid,
        subject: Subject,
        charges: bool,
        capped: Capped,
    ) -> Result<Arc<Self>, ServiceError> {
        let sandbox = crate::sandbox::of(services)?;
        Ok(Arc::new(Self {
            services: services.clone(),
            models: sandbox.models.clone(),
            default_model: sandbox.llm.default_model().to_owned(),
            payer,
            agent,
            subject,
            charges,
            capped,
            state: Mutex::new(MeterState::default()),
        }))
    }

    /// The price of a call to `model`: the operator's list for the real
    /// provider; nothing offline, where every model is the stand-in.
    fn price(&self, model: &str) -> Result<crate::models::Price, CallError> {
        if self.default_model == runtime::llm::OFFLINE_MODEL {
            return Ok(crate::models::Price {
                input_per_1k: 0,
                output_per_1k: 0,
            });
        }
        self.models.price(model, &self.default_model)
    }

    /// Credits charged so far.
    pub fn charged(&self) -> i64 {
        self.lock().charged
    }

    /// Settles the calls the run's end cut off while the provider was
    /// answering: each is charged what it held (its worst case: the
    /// provider may well bill it); answers the credits the run's calls were
    /// charged.
    pub async fn finish(&self) -> Result<i64, ServiceError> {
        let open: Vec<(u64, i64)> = self.lock().open.drain().collect();
        for (call, held) in open {
            self.post_settle(call, held, held).await?;
            self.lock().charged += held;
        }
        Ok(self.charged())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(&self, call: u64, step: &str) -> String {
        match self.subject {
            Subject::Run(id) => format!("llm:run:{id}:{call}:{step}"),
            Subject::Trial(id) => format!("llm:try:{id}:{call}:{step}"),
        }
    }

    /// Holds `amount` from the payer's wallet and counts it against the
    /// spend caps, or refuses (402) and moves nothing.
    async fn post_hold(&self, call: u64, amount: i64) -> Result<(), ServiceError> {
        let mut conn = self.services.conn().await?;
        conn.transaction::<_, ServiceError, _>(async |conn| {
            let [(wallet, available), (held, _)] = ledger::accounts(
                conn,
                [
                    (Account::Wallet, Some(self.payer)),
                    (Account::Held, Some(self.payer)),
                ],
            )
            .await?;
            if available < amount {
                return Err(ServiceError::PaymentRequired(format!(
                    "this model call may cost up to {amount} credits and the wallet has {available}"
                )));
            }
            ledger::post(
                conn,
                Movement {
                    key: self.key(call, "hold"),
                    kind: "llm_hold",
                    workspace: Some(self.payer),
                    run: self.subject.run(),
                    trial: self.subject.trial(),
                    agent: Some(self.agent),
                    memo: "Held for a model call".to_owned(),
                    by: None,
                    legs: vec![(wallet, -amount), (held, amount)],
                },
            )
            .await?;
            spend::charge(conn, self.capped, amount).await
        })
        .await
    }

    /// Moves a call's hold: `charge` to revenue, the rest back to the
    /// wallet (a charge beyond the hold comes from the wallet), and gives
    /// back to the spend caps what the hold counted beyond the charge.
    async fn post_settle(&self, call: u64, held: i64, charge: i64) -> Result<(), ServiceError> {
        if held == 0 && charge == 0 {
            return Ok(());
        }
        let mut conn = self.services.conn().await?;
        conn.transaction::<_, ServiceError, _>(async |conn| {
            let [(wallet, _), (held_account, _), (revenue, _)] = ledger::accounts(
                conn,
                [
                    (Account::Wallet, Some(self.payer)),
                    (Account::Held, Some(self.payer)),
                    (Account::Revenue, None),
                ],
            )
            .await?;
            let posted = ledger::post(
                conn,
                Movement {
                    key: self.key(call, "charge"),
                    kind: "llm_charge",
                    workspace: Some(self.payer),
                    run: self.subject.run(),
                    trial: self.subject.trial(),
                    agent: Some(self.agent),
                    memo: "Model call charged".to_owned(),
                    by: None,
                    legs: vec![
                        (held_account, -held),
                        (wallet, held - charge),
                        (revenue, charge),
                    ],
                },
            )
            .await?;
            if posted == ledger::Posted::Now {
                if charge > held {
                    spend::charge(conn, self.capped, charge - held).await?;
                } else {
                    spend::give_back_now(conn, self.capped, held - charge).await?;
                }
            }
            Ok(())
        })
        .await
    }
}

impl LlmMeter for LedgerMeter {
    fn hold<'a>(
        &'a self,
        model: &'a str,
        worst: Tokens,
    ) -> BoxFuture<'a, Result<MeterHold, CallError>> {
        Box::pin(async move {
            let price = self.price(model)?;
            let (call, amount) = {
                let mut state = self.lock();
                let call = state.next_call;
                state.next_call += 1;
                let worst_total = (state.cost_millis + price.millis(worst) + 999) / 1000;
                let amount = if self.charges {
                    i64::try_from(worst_total).unwrap_or(i64::MAX) - state.charged
                } else {
                    0
                };
                (call, amount.max(0))
            };
            if amount > 0 {
                self.post_hold(call, amount)
                    .await
                    .map_err(|error| match error {
                        ServiceError::PaymentRequired(message)
                        | ServiceError::SpendCapReached { message, .. } => {
                            CallError::Limit(message)
                        }
                        other => {
                            tracing::error!(error = %other, "holding a model call's cost failed");
                            CallError::Failed("the model call could not be paid for now".into())
                        }
                    })?;
            }
            self.lock().open.insert(call, amount);
            Ok(MeterHold { call, held: amount })
        })
    }

    fn settle(&self, hold: MeterHold, model: &str, used: Option<Tokens>) -> BoxFuture<'_, ()> {
        let price = self.price(model).ok();
        Box::pin(async move {
            let charge = {
                let mut state = self.lock();
                state.open.remove(&hold.call);
                match (used, price) {
                    (Some(tokens), Some(price)) if self.charges => {
                        state.cost_millis += price.millis(tokens);
                        let total =
                            i64::try_from((state.cost_millis + 999) / 1000).unwrap_or(i64::MAX);
                        let charge = total - state.charged;
                        state.charged = total;
                        charge
                    }
                    _ => 0,
                }
            };
            if let Err(error) = self.post_settle(hold.call, hold.held, charge).await {
                // The wallet could not cover more than the hold: charge the
                // hold, and say so.
                tracing::warn!(%error, call = hold.call, "a model call's charge failed; charging its hold");
                let fallback = hold.held.min(charge);
                self.lock().charged -= charge - fallback;
                if let Err(error) = self.post_settle(hold.call, hold.held, fallback).await {
                    tracing::error!(%error, "settling a model call failed");
                }
            }
        })
    }
}

/// How long a hold may stay unsettled before `sweep` gives it back: longer
/// than any run or test run lasts.
const STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Gives back what no run will settle any more: model-call holds of runs
/// that were cancelled or whose server died mid-call, and the price held
/// for a try whose server died. Answers how many it gave back. The server
/// runs it hourly.
pub async fn sweep(services: &Services) -> Result<usize, ServiceError> {
    sweep_older_than(services, STALE).await
}

/// `sweep` of what has been unsettled for longer than `age`.
pub async fn sweep_older_than(
    services: &Services,
    age: std::time::Duration,
) -> Result<usize, ServiceError> {
    use diesel::sql_types::{BigInt, Double, Nullable, Text, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Open {
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = SqlUuid)]
        workspace: Uuid,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        run: Option<Uuid>,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        trial: Option<Uuid>,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        agent: Option<Uuid>,
        #[diesel(sql_type = BigInt)]
        held: i64,
    }
    let mut conn = services.conn().await?;
    let open: Vec<Open> = diesel::sql_query(
        "SELECT t.idempotency_key AS key, t.workspace_id AS workspace, t.run_id AS run, \
                t.trial_id AS trial, t.agent_id AS agent, e.amount AS held \
         FROM ledger_transactions t \
         JOIN ledger_entries e ON e.transaction_id = t.id \
         JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'held' \
         WHERE t.kind = 'llm_hold' AND t.created_at <= now() - make_interval(secs => $1) \
           AND NOT EXISTS (SELECT 1 FROM ledger_transactions c \
                           WHERE c.idempotency_key = left(t.idempotency_key, -4) || 'charge') \
         LIMIT 1000",
    )
    .bind::<Double, _>(age.as_secs_f64())
    .load(&mut conn)
    .await?;
    let mut given = 0;
    for hold in open {
        let [(wallet, _), (held, _)] = ledger::accounts(
            &mut conn,
            [
                (Account::Wallet, Some(hold.workspace)),
                (Account::Held, Some(hold.workspace)),
            ],
        )
        .await?;
        let key = format!("{}charge", &hold.key[..hold.key.len() - 4]);
        ledger::post(
            &mut conn,
            Movement {
                key,
                kind: "llm_charge",
                workspace: Some(hold.workspace),
                run: hold.run,
                trial: hold.trial,
                agent: hold.agent,
                memo: "Model call not settled: given back".to_owned(),
                by: None,
                legs: vec![(held, -hold.held), (wallet, hold.held)],
            },
        )
        .await?;
        given += 1;
    }
    #[derive(diesel::QueryableByName)]
    struct Stale {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        workspace_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        agent_id: Uuid,
        #[diesel(sql_type = BigInt)]
        price_credits: i64,
    }
    let stale: Vec<Stale> = diesel::sql_query(
        "UPDATE trial_runs SET status = 'failed', finished_at = now() \
         WHERE status = 'running' AND created_at <= now() - make_interval(secs => $1) \
         RETURNING id, workspace_id, agent_id, price_credits",
    )
    .bind::<Double, _>(age.as_secs_f64())
    .load(&mut conn)
    .await?;
    for trial in stale.into_iter().filter(|t| t.price_credits > 0) {
        let hold = ledger::Hold {
            subject: Subject::Trial(trial.id),
            payer: trial.workspace_id,
            agent: trial.agent_id,
            price: trial.price_credits,
        };
        if ledger::release(&mut conn, hold).await? == ledger::Posted::Now {
            given += 1;
        }
    }
    Ok(given)
}
