DROP TRIGGER ledger_entries_apply ON ledger_entries;
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();
ALTER TABLE spend_months DROP CONSTRAINT spend_within_api_key_cap;
ALTER TABLE spend_months DROP CONSTRAINT spend_within_deployment_cap;
ALTER TABLE spend_months DROP COLUMN cap;
DROP TRIGGER runs_count_running ON runs;
DROP FUNCTION runs_count_running();
ALTER TABLE deployments DROP COLUMN runs_running;
