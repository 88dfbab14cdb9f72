ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN
    ('starter', 'grant', 'purchase', 'reserve', 'settle', 'release'));
ALTER TABLE ledger_transactions DROP COLUMN trial_id;
ALTER TABLE runs DROP COLUMN llm_calls, DROP COLUMN llm_input_tokens,
    DROP COLUMN llm_output_tokens, DROP COLUMN llm_credits;
DROP TABLE trial_runs;
ALTER TABLE agents DROP COLUMN source_public, DROP COLUMN free_tries;
