ALTER TABLE runs DROP COLUMN charged_credits;
ALTER TABLE runs DROP COLUMN price_credits;
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_append_only();
DROP FUNCTION ledger_check_balanced();
DROP FUNCTION ledger_apply_entry();
