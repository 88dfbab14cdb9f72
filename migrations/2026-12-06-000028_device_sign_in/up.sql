-- A key may manage its owner's keys in its workspace (`keys:write`). Keys
-- made by a key remember it, and are revoked with it.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write']::text[]);
ALTER TABLE api_keys ADD COLUMN made_by_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE;
CREATE INDEX api_keys_made_by_idx ON api_keys (made_by_key_id) WHERE made_by_key_id IS NOT NULL;

-- Device sign-in (RFC 8628): a command line asks, its person approves in a
-- browser, and the command line's next poll takes a new API key. The device
-- code is kept as a digest; the user code is short and lives ten minutes.
CREATE TABLE device_grants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_code_hash bytea NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),
    user_code        text NOT NULL UNIQUE CHECK (user_code ~ '^[BCDFGHJKLMNPQRSTVWXZ]{8}$'),
    client_name      text NOT NULL CHECK (length(client_name) BETWEEN 1 AND 60),
    scopes           text[] NOT NULL CHECK (cardinality(scopes) >= 1),
    requested_ip     text NOT NULL DEFAULT '' CHECK (length(requested_ip) <= 64),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    interval_s       integer NOT NULL DEFAULT 5 CHECK (interval_s BETWEEN 1 AND 60),
    polled_at        timestamptz,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    -- Filled in by the approval.
    user_id          uuid REFERENCES users (id) ON DELETE CASCADE,
    workspace_id     uuid REFERENCES workspaces (id) ON DELETE CASCADE,
    granted_scopes   text[],
    decided_at       timestamptz,
    CHECK (status = 'pending' OR decided_at IS NOT NULL),
    CHECK (status NOT IN ('approved', 'used')
           OR (user_id IS NOT NULL AND workspace_id IS NOT NULL AND granted_scopes IS NOT NULL))
);
CREATE INDEX device_grants_expires_idx ON device_grants (expires_at);
