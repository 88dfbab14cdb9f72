-- A run starts in one statement (service::runs::fast): these let that
-- statement check what a start transaction used to read first.
--
-- Runs in flight per deployment, kept by the database as a run's status
-- changes. The start statement locks the deployment's row and checks this
-- count on the row's newest version, so concurrent starts cannot both slip
-- under the limit (a count of `runs` would be read in the statement's
-- snapshot, taken before any wait for the lock). BEFORE triggers: the
-- deployment's row is taken when the run's row is, before the statement
-- goes on to event topics and the ledger (the one order of locks: run,
-- deployment, event topics, ledger accounts, spend counters).
--
-- No run changes while the count is set up: the trigger exists before the
-- count is taken, and no other transaction writes runs until this one
-- commits.
LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE deployments ADD COLUMN runs_running integer NOT NULL DEFAULT 0;

CREATE FUNCTION runs_count_running() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := 0;
BEGIN
    -- A run moved to another deployment (no code does; the count must
    -- hold all the same): out of the one, into the other.
    IF TG_OP = 'UPDATE' AND OLD.deployment_id IS DISTINCT FROM NEW.deployment_id THEN
        IF OLD.status = 'running' THEN
            UPDATE deployments SET runs_running = runs_running - 1 WHERE id = OLD.deployment_id;
        END IF;
        IF NEW.status = 'running' THEN
            UPDATE deployments SET runs_running = runs_running + 1 WHERE id = NEW.deployment_id;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'running' THEN
        delta := delta - 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'running' THEN
        delta := delta + 1;
    END IF;
    IF delta <> 0 THEN
        -- A deployment deleted with its runs is gone already: no row.
        UPDATE deployments SET runs_running = runs_running + delta
        WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.deployment_id ELSE NEW.deployment_id END;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER runs_count_running BEFORE INSERT OR UPDATE OF status, deployment_id OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_count_running();

UPDATE deployments d SET runs_running = (
    SELECT count(*) FROM runs r WHERE r.deployment_id = d.id AND r.status = 'running');

-- A monthly spend counter keeps the cap it was last moved under, and the
-- database refuses a counter past it: the start statement moves the
-- counters without a check of its own and fails as a whole (nothing
-- started, nothing held) when a cap would be passed.
ALTER TABLE spend_months ADD COLUMN cap bigint;
ALTER TABLE spend_months ADD CONSTRAINT spend_within_deployment_cap
    CHECK (scope <> 'deployment' OR cap IS NULL OR spent <= cap);
ALTER TABLE spend_months ADD CONSTRAINT spend_within_api_key_cap
    CHECK (scope <> 'api_key' OR cap IS NULL OR spent <= cap);

-- An entry moves its account's balance as it is inserted (BEFORE), not
-- when its statement ends: a statement that posts entries and then moves
-- spend counters (the run's start and end statements) locks the accounts
-- first, in the order every path keeps.
DROP TRIGGER ledger_entries_apply ON ledger_entries;
CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();
