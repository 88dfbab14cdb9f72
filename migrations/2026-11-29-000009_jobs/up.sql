-- The job queue: background work (deployments, asynchronous runs, schedules,
-- deliveries) that must survive any crash. A worker claims jobs with
-- FOR UPDATE SKIP LOCKED and holds each under a lease it renews; a job whose
-- lease runs out (its worker died) is queued again. A job that has used up
-- its attempts is queued once more with `giving_up`, so its handler can
-- record the failure (a deployment ends `failed` with the reason) before the
-- job rests as `dead`, kept for the admin view. Succeeded jobs are deleted:
-- the tables they worked on keep the history.
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload      jsonb NOT NULL DEFAULT '{}',
    -- Higher first.
    priority     smallint NOT NULL DEFAULT 0,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'dead')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts BETWEEN 1 AND 100),
    giving_up    boolean NOT NULL DEFAULT false,
    run_at       timestamptz NOT NULL DEFAULT now(),
    worker       text,
    lease_until  timestamptz,
    last_error   text,
    -- At most one live (not dead) job per key: enqueueing twice is harmless.
    unique_key   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'running') = (worker IS NOT NULL AND lease_until IS NOT NULL))
);

CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases_idx ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_worker_idx ON jobs (worker) WHERE state = 'running';
CREATE INDEX jobs_dead_idx ON jobs (updated_at DESC, id) WHERE state = 'dead';
CREATE UNIQUE INDEX jobs_unique_key_idx ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state <> 'dead';

-- Wakes idle workers. Once per statement, and PostgreSQL folds equal
-- notifications of one transaction and delivers them at commit, so a bulk
-- enqueue sends one.
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentdeck_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify();

-- Platform administrators (the admin views: queue, and later credit grants).
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;

-- Every job is inserted, updated and deleted within moments: vacuum and
-- analyze the table after a few percent of it changed, not a fifth.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
