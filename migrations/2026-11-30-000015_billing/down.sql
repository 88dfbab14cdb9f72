DROP TABLE billing_webhook_events;
DROP TABLE billing_checkouts;
DROP INDEX runs_api_key_spend_idx;
ALTER TABLE api_keys DROP COLUMN spend_cap_credits;
ALTER TABLE deployments DROP COLUMN spend_cap_credits;
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
    RETURN NULL;
END $$;
