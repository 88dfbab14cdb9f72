-- Outgoing webhooks, signed per the Standard Webhooks specification.
--
-- An event is emitted by a trigger in the same transaction as the change it
-- tells of (a run finishing, a deployment's status, a version published, a
-- wallet running low), so an event exists exactly when its change
-- committed, whatever code path made it. `webhook_emit` writes nothing when
-- no enabled endpoint of the workspace wants the type: one index probe. For
-- each endpoint that does, it adds a delivery and, unless an earlier
-- delivery of an ordered endpoint is still pending, a `webhook.deliver`
-- job; the worker sends, signs and logs each attempt (`webhook_attempts`)
-- and queues the next one on the retry schedule.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write', 'mcp', 'webhooks:write']::text[]);

CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    event_types     text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 20),
    deployment_id   uuid REFERENCES deployments (id) ON DELETE CASCADE,
    ordered         boolean NOT NULL DEFAULT false,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    -- `whsec_` secrets, sealed with the secrets key; the previous one keeps
    -- signing beside the new one until `previous_until`.
    secret          bytea NOT NULL,
    previous_secret bytea,
    previous_until  timestamptz,
    -- The first failed attempt since the last success.
    failing_since   timestamptz,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_workspace_idx ON webhook_endpoints (workspace_id);

CREATE TABLE webhook_events (
    -- `msg_…`: the `webhook-id` header, the same on every attempt.
    id           text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         text NOT NULL,
    -- The body sent: {"type", "timestamp", "data"}.
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    -- Increasing: an ordered endpoint gets its deliveries in this order.
    id              bigserial PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_status     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   integer NOT NULL,
    -- The answer's HTTP status; NULL when none came (the error says why).
    status        integer,
    error         text,
    -- The answer's first 4 KB.
    response_body text,
    -- The headers sent (signatures included, never a secret).
    request_headers jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt);

CREATE FUNCTION webhook_emit(p_workspace uuid, p_deployment uuid, p_type text, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    event_id text;
BEGIN
    IF p_workspace IS NULL OR NOT EXISTS (
        SELECT 1 FROM webhook_endpoints e
        WHERE e.workspace_id = p_workspace AND e.enabled AND p_type = ANY (e.event_types)
          AND (e.deployment_id IS NULL OR e.deployment_id = p_deployment))
    THEN
        RETURN;
    END IF;
    event_id := 'msg_' || replace(gen_random_uuid()::text, '-', '');
    INSERT INTO webhook_events (id, workspace_id, type, payload)
    VALUES (event_id, p_workspace, p_type, jsonb_build_object(
        'type', p_type,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', p_data));
    WITH added AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_id)
        SELECT e.id, event_id FROM webhook_endpoints e
        WHERE e.workspace_id = p_workspace AND e.enabled AND p_type = ANY (e.event_types)
          AND (e.deployment_id IS NULL OR e.deployment_id = p_deployment)
        -- An endpoint deleted meanwhile is skipped, never a failed insert
        -- that would take the run's (or deployment's) change down with it.
        FOR KEY SHARE OF e
        RETURNING id, endpoint_id
    )
    -- Below runs and mail (priority 0); retried through busy spells (the
    -- delivery's own schedule counts its attempts).
    INSERT INTO jobs (kind, payload, unique_key, priority, max_attempts)
    SELECT 'webhook.deliver', jsonb_build_object('delivery', a.id), 'webhook:' || a.id || ':1', -1, 50
    FROM added a JOIN webhook_endpoints e ON e.id = a.endpoint_id
    -- The statement sees the pending deliveries from before it only.
    WHERE NOT e.ordered OR NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = e.id AND p.state = 'pending')
    ON CONFLICT DO NOTHING;
END
$$;

-- run.succeeded, run.failed (failed or timed out), run.cancelled.
CREATE FUNCTION webhook_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('succeeded', 'failed', 'timed_out', 'cancelled')
       AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        PERFORM webhook_emit(NEW.workspace_id, NEW.deployment_id,
            CASE NEW.status WHEN 'succeeded' THEN 'run.succeeded'
                            WHEN 'cancelled' THEN 'run.cancelled'
                            ELSE 'run.failed' END,
            jsonb_build_object(
                'run', NEW.id, 'deployment', NEW.deployment_id, 'status', NEW.status,
                'trigger', NEW.trigger, 'error', NEW.error,
                -- Outputs up to 16 KB ride along; larger ones are read with
                -- the API (`GET /api/v1/runs/{id}`).
                'output', CASE WHEN octet_length(NEW.output::text) <= 16384 THEN NEW.output END,
                'output_omitted', NEW.output IS NOT NULL AND octet_length(NEW.output::text) > 16384,
                'duration_us', NEW.duration_us, 'charged_credits', NEW.charged_credits,
                'created_at', NEW.created_at, 'finished_at', NEW.finished_at));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_runs AFTER INSERT OR UPDATE OF status ON runs
    FOR EACH ROW EXECUTE FUNCTION webhook_runs();

CREATE FUNCTION webhook_deployments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM webhook_emit(NEW.workspace_id, NEW.id, 'deployment.status',
            jsonb_build_object(
                'deployment', NEW.id, 'name', NEW.name, 'status', NEW.status,
                'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
                'reason', NEW.status_reason, 'generation', NEW.generation));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_deployments AFTER INSERT OR UPDATE OF status ON deployments
    FOR EACH ROW EXECUTE FUNCTION webhook_deployments();

CREATE FUNCTION webhook_versions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    agent agents%ROWTYPE;
BEGIN
    SELECT * INTO agent FROM agents WHERE id = NEW.agent_id;
    PERFORM webhook_emit(agent.workspace_id, NULL, 'agent.published',
        jsonb_build_object(
            'agent', agent.slug, 'name', agent.name, 'version', NEW.version,
            'visibility', agent.visibility, 'published_at', NEW.created_at));
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_versions AFTER INSERT ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION webhook_versions();

-- A wallet falling below 100 credits (once per fall: not again until it
-- has been at 100 or more).
CREATE FUNCTION webhook_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'wallet' AND OLD.balance >= 100 AND NEW.balance < 100 THEN
        PERFORM webhook_emit(NEW.workspace_id, NULL, 'credits.low',
            jsonb_build_object('balance', NEW.balance, 'threshold', 100));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_wallets AFTER UPDATE OF balance ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION webhook_wallets();
