-- A run's price is settled or released once, never both: each step has an
-- idempotency key of its own (`run:<id>:settle`, `run:<id>:release`), so
-- only this index refuses a second ending of one run, whichever path
-- (the run's end, a cancel, the keeper) tries it.
CREATE UNIQUE INDEX ledger_one_ending_per_run ON ledger_transactions (run_id)
    WHERE run_id IS NOT NULL AND kind IN ('settle', 'release');
