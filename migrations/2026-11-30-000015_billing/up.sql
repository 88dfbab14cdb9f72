-- Spend caps, top-ups through a payment provider, and an audit line for
-- every credit movement.

-- A monthly spend cap (credits charged or held for runs started in the
-- calendar month, UTC) per deployment and per API key; NULL: no cap.
ALTER TABLE deployments ADD COLUMN spend_cap_credits bigint CHECK (spend_cap_credits >= 0);
ALTER TABLE api_keys ADD COLUMN spend_cap_credits bigint CHECK (spend_cap_credits >= 0);
CREATE INDEX runs_api_key_spend_idx ON runs (api_key_id, created_at)
    WHERE api_key_id IS NOT NULL AND price_credits > 0;

-- Buying credits: a checkout session made with the payment provider. The
-- wallet is credited only from the provider's verified webhook, once per
-- checkout (the ledger's idempotency key `checkout:<id>`).
CREATE TABLE billing_checkouts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE RESTRICT,
    provider_id  text UNIQUE CHECK (length(provider_id) <= 255),
    url          text CHECK (length(url) <= 2048),
    credits      bigint NOT NULL CHECK (credits > 0),
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    currency     text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'expired')),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    paid_at      timestamptz
);
CREATE INDEX billing_checkouts_workspace_idx ON billing_checkouts (workspace_id, created_at DESC);

-- The provider's webhook events, by event id: each is processed once.
CREATE TABLE billing_webhook_events (
    event_id    text PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 255),
    type        text NOT NULL,
    handled     boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Every movement writes one audit line per workspace it touches, when its
-- database transaction commits (with the balance check), so no code path
-- can move credits unaudited. `agentdeck.audit_ip` may name the caller's
-- address for the transaction (`set_config(..., true)`).
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO audit_events (action, actor_user_id, workspace_id, target_type, target_id, ip, details)
    SELECT 'credits.' || NEW.kind, NEW.created_by, moved.workspace_id,
           'ledger_transaction', NEW.id::text,
           left(coalesce(current_setting('agentdeck.audit_ip', true), ''), 64),
           jsonb_strip_nulls(jsonb_build_object(
               'memo', NEW.memo, 'run', NEW.run_id, 'agent', NEW.agent_id,
               'amounts', moved.amounts))
    FROM (
        SELECT account.workspace_id, jsonb_object_agg(account.kind, entry.amount) AS amounts
        FROM ledger_entries entry
        JOIN ledger_accounts account ON account.id = entry.account_id
        WHERE entry.transaction_id = NEW.id AND account.workspace_id IS NOT NULL
        GROUP BY account.workspace_id
    ) AS moved;
    RETURN NULL;
END $$;

-- The movements made before this migration get their audit lines too.
INSERT INTO audit_events (occurred_at, action, actor_user_id, workspace_id, target_type, target_id, details)
SELECT tx.created_at, 'credits.' || tx.kind, tx.created_by, moved.workspace_id,
       'ledger_transaction', tx.id::text,
       jsonb_strip_nulls(jsonb_build_object(
           'memo', tx.memo, 'run', tx.run_id, 'agent', tx.agent_id, 'amounts', moved.amounts))
FROM ledger_transactions tx
CROSS JOIN LATERAL (
    SELECT account.workspace_id, jsonb_object_agg(account.kind, entry.amount) AS amounts
    FROM ledger_entries entry
    JOIN ledger_accounts account ON account.id = entry.account_id
    WHERE entry.transaction_id = tx.id AND account.workspace_id IS NOT NULL
    GROUP BY account.workspace_id
) AS moved
ORDER BY tx.id;
