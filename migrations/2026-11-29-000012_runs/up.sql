-- Runs: one execution of a deployment's agent. A run is executed where it
-- was claimed (the server that took a synchronous request, or the worker of
-- an asynchronous run's job) under a lease that process keeps renewing. A
-- run whose lease runs out (its process died) is not executed again — its
-- effects (fetches, storage) may have happened — but ends `failed` with
-- the reason; a queued asynchronous run whose worker died is simply taken
-- up again, since it never started. So a run recorded as done is never run
-- again, and no run stays `running` forever.
CREATE TABLE runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    deployment_id     uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    status            text NOT NULL CHECK (status IN
                          ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled')),
    trigger           text NOT NULL CHECK (trigger IN ('ui', 'api', 'embed', 'schedule', 'webhook')),
    input             jsonb NOT NULL,
    output            jsonb,
    error             jsonb,
    logs              jsonb NOT NULL DEFAULT '[]',
    logs_truncated    boolean NOT NULL DEFAULT false,
    duration_us       bigint,
    fuel_used         bigint,
    peak_memory_bytes bigint,
    runner            text,
    lease_until       timestamptz,
    cancel_requested  boolean NOT NULL DEFAULT false,
    idempotency_key   text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    created_by        uuid REFERENCES users (id),
    api_key_id        uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    CHECK ((status = 'running') = (runner IS NOT NULL AND lease_until IS NOT NULL))
);
CREATE INDEX runs_deployment_idx ON runs (deployment_id, created_at DESC, id);
CREATE INDEX runs_workspace_idx ON runs (workspace_id, created_at DESC, id);
CREATE INDEX runs_leases_idx ON runs (lease_until) WHERE status = 'running';
CREATE UNIQUE INDEX runs_idempotency_idx ON runs (deployment_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
