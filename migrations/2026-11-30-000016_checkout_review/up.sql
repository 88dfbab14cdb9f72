-- Checkouts the provider reports paid for another sum than was asked are
-- held for review (never credited, never retried forever); ones whose
-- payment failed are `failed`.
ALTER TABLE billing_checkouts DROP CONSTRAINT billing_checkouts_status_check;
ALTER TABLE billing_checkouts ADD CONSTRAINT billing_checkouts_status_check
    CHECK (status IN ('open', 'paid', 'expired', 'failed', 'review'));

-- A movement's audit lines: the run and memo only in the log of the
-- workspace the movement is about (the payer's); the creator's line says
-- what its agent earned, not whose run it was.
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
               'memo', CASE WHEN moved.workspace_id IS NOT DISTINCT FROM NEW.workspace_id
                            THEN NEW.memo END,
               'run', CASE WHEN moved.workspace_id IS NOT DISTINCT FROM NEW.workspace_id
                           THEN NEW.run_id END,
               'agent', NEW.agent_id,
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
