-- Credits: a double-entry ledger. Every movement is a transaction whose
-- entries sum to zero (checked when the database transaction commits), each
-- with an idempotency key, so repeating a movement does nothing. Account
-- balances are kept by a trigger from the entries, in the same transaction,
-- and a CHECK makes a negative wallet (or held, earnings or revenue
-- account) impossible: a payment that would overdraw fails as a whole.
--
-- Accounts:
--   wallet    a workspace's spendable credits
--   held      credits a workspace reserved for runs in flight
--   earnings  a workspace's share of paid runs of its agents
--   revenue   the platform's fees (one account)
--   purchases where bought credits come from (one account; goes negative)
--   grants    where starter and granted credits come from (one; negative)
CREATE TABLE ledger_accounts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL CHECK (kind IN
                     ('wallet', 'held', 'earnings', 'revenue', 'purchases', 'grants')),
    workspace_id uuid REFERENCES workspaces (id) ON DELETE RESTRICT,
    balance      bigint NOT NULL DEFAULT 0,
    CHECK ((kind IN ('wallet', 'held', 'earnings')) = (workspace_id IS NOT NULL)),
    CONSTRAINT ledger_no_overdraft
        CHECK (kind IN ('purchases', 'grants') OR balance >= 0)
);
CREATE UNIQUE INDEX ledger_accounts_kind_idx
    ON ledger_accounts (kind, workspace_id) NULLS NOT DISTINCT;
INSERT INTO ledger_accounts (kind) VALUES ('revenue'), ('purchases'), ('grants');

CREATE TABLE ledger_transactions (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN
                        ('starter', 'grant', 'purchase', 'reserve', 'settle', 'release')),
    -- The workspace whose credits moved (the payer, or who received them).
    workspace_id    uuid REFERENCES workspaces (id) ON DELETE RESTRICT,
    run_id          uuid REFERENCES runs (id) ON DELETE RESTRICT,
    agent_id        uuid REFERENCES agents (id) ON DELETE RESTRICT,
    memo            text NOT NULL DEFAULT '',
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_workspace_idx ON ledger_transactions (workspace_id, id DESC);
CREATE INDEX ledger_transactions_run_idx ON ledger_transactions (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES ledger_transactions (id) ON DELETE RESTRICT,
    account_id     uuid NOT NULL REFERENCES ledger_accounts (id) ON DELETE RESTRICT,
    amount         bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id DESC);

-- Each entry moves its account's balance at once (the CHECK above refuses
-- an overdraft right there).
CREATE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();

-- At commit: every transaction touched balances to zero, and has entries.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    legs  bigint;
BEGIN
    SELECT coalesce(sum(amount), 0), count(*) INTO total, legs
    FROM ledger_entries WHERE transaction_id = NEW.id;
    IF total <> 0 OR legs < 2 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %, % entries)',
            NEW.id, total, legs USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
    AFTER INSERT ON ledger_transactions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Append-only: a movement is undone by another movement, never by editing.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_transactions_no_change BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- What a run costs: the agent's price when it started, 0 when the
-- deployment's workspace owns the agent. Charged only if it succeeds.
ALTER TABLE runs ADD COLUMN price_credits bigint NOT NULL DEFAULT 0 CHECK (price_credits >= 0);
ALTER TABLE runs ADD COLUMN charged_credits bigint NOT NULL DEFAULT 0 CHECK (charged_credits >= 0);

-- Existing personal workspaces get their starter credits as new ones do.
INSERT INTO ledger_accounts (kind, workspace_id)
SELECT 'wallet', id FROM workspaces WHERE kind = 'personal';
WITH starter AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, workspace_id, memo)
    SELECT 'starter:' || id, 'starter', id, 'Starter credits'
    FROM workspaces WHERE kind = 'personal'
    RETURNING id, workspace_id
)
INSERT INTO ledger_entries (transaction_id, account_id, amount)
SELECT starter.id, account.id, legs.amount
FROM starter
CROSS JOIN LATERAL (VALUES
    ((SELECT id FROM ledger_accounts WHERE kind = 'wallet' AND workspace_id = starter.workspace_id), 100),
    ((SELECT id FROM ledger_accounts WHERE kind = 'grants'), -100)
) AS legs (account, amount)
JOIN ledger_accounts account ON account.id = legs.account;
