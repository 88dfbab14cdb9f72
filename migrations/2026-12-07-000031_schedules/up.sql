-- Schedules: a deployment run by the clock, on a cron expression read in
-- an IANA time zone or on a plain interval. `next_at` is the next slot not
-- yet fired (NULL while off); the scheduler of any server takes due rows
-- with FOR UPDATE SKIP LOCKED, and each slot's run carries the idempotency
-- key `schedule:<id>:<slot>`, so a slot starts one run however many
-- servers look.
CREATE TABLE schedules (
    id            uuid PRIMARY KEY,
    deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    cron          text CHECK (length(cron) BETWEEN 1 AND 120),
    time_zone     text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    every_seconds bigint CHECK (every_seconds BETWEEN 60 AND 2678400),
    input         jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled       boolean NOT NULL DEFAULT true,
    overlap       text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'allow')),
    catch_up      text NOT NULL DEFAULT 'none' CHECK (catch_up IN ('none', 'last')),
    next_at       timestamptz,
    last_slot     timestamptz,
    last_run_id   uuid REFERENCES runs (id) ON DELETE SET NULL,
    last_outcome  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((cron IS NULL) <> (every_seconds IS NULL))
);
CREATE INDEX schedules_due_idx ON schedules (next_at) WHERE enabled AND next_at IS NOT NULL;
CREATE INDEX schedules_deployment_idx ON schedules (deployment_id, created_at);
