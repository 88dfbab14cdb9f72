-- Usage counted from the runs (service::agents::usage): a roll-up adds the
-- runs that ended since the last one to their agents' `runs_count` and
-- `runs_succeeded` (what cards, pages and the Popular sort show) and to
-- per-deployment daily counts (weekly active deployments for creators).
-- The listing's row changes once per roll-up, never per run: each update
-- of it rewrites its search indexes.
--
-- Exactly once, with no clock involved: ending a run stamps it with the
-- ending transaction's id; a roll-up counts the runs stamped below the
-- oldest transaction still open when it looked (every one of those has
-- committed or aborted, so all are visible to it) and at or above where
-- the last roll-up stopped. A transaction still open then gets counted by
-- the next one. `runs_count` counts runs that ended succeeded, failed or
-- timed out; a cancelled run is not the agent's doing either way. Runs of
-- an agent by its own workspace are not counted: they are free, and would
-- let a creator climb Popular at no cost.
--
-- No run ends while this runs: the lock holds them until it commits, and
-- every run that ended before is counted here (runs without a stamp).
LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE runs ADD COLUMN ended_xid xid8;
CREATE INDEX runs_ended_xid_idx ON runs (ended_xid) WHERE ended_xid IS NOT NULL;

CREATE FUNCTION runs_stamp_ending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ended_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
-- Only the update that ends a run calls it.
CREATE TRIGGER runs_stamp_ending BEFORE UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)
    EXECUTE FUNCTION runs_stamp_ending();

-- Where the last roll-up stopped: runs stamped below it are counted.
CREATE TABLE usage_rollup (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    counted_below xid8 NOT NULL,
    rolled_up_at  timestamptz NOT NULL DEFAULT now()
);

-- Runs per deployment and day (UTC), as rolled up.
CREATE TABLE deployment_usage_days (
    deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    day           date NOT NULL,
    agent_id      uuid NOT NULL REFERENCES agents (id),
    runs          bigint NOT NULL CHECK (runs >= 0),
    succeeded     bigint NOT NULL CHECK (succeeded BETWEEN 0 AND runs),
    PRIMARY KEY (deployment_id, day)
);
CREATE INDEX deployment_usage_days_agent_idx ON deployment_usage_days (agent_id, day);

-- What ended before today: counted now.
INSERT INTO deployment_usage_days (deployment_id, day, agent_id, runs, succeeded)
SELECT r.deployment_id, (r.finished_at AT TIME ZONE 'UTC')::date, d.agent_id,
       count(*), count(*) FILTER (WHERE r.status = 'succeeded')
FROM runs r JOIN deployments d ON d.id = r.deployment_id JOIN agents a ON a.id = d.agent_id
WHERE r.finished_at IS NOT NULL AND r.status IN ('succeeded', 'failed', 'timed_out')
  AND r.workspace_id <> a.workspace_id
GROUP BY 1, 2, 3;
UPDATE agents a SET runs_count = u.runs, runs_succeeded = u.succeeded
FROM (SELECT agent_id, sum(runs)::bigint AS runs, sum(succeeded)::bigint AS succeeded
      FROM deployment_usage_days GROUP BY agent_id) AS u
WHERE a.id = u.agent_id;
-- Transactions open now that end a run after this commits (they wait on
-- the lock) are at or above the oldest open one: the first roll-up counts
-- them.
INSERT INTO usage_rollup (counted_below) VALUES (pg_snapshot_xmin(pg_current_snapshot()));
