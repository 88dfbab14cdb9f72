-- Connections: a workspace's accounts at other services (docs/connections.md).
-- The credential (access and refresh token, or a key) is sealed with the
-- secrets key, bound to the connection's id; nothing else here is secret.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write', 'mcp', 'webhooks:write', 'connections:write']::text[]);

CREATE TABLE connections (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider      text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9-]{1,39}$'),
    -- Who connected it: they, or a workspace admin, may bind it.
    owner_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The account at the provider: a stable id ('' when the provider has no
    -- way to tell) and a name to show.
    account_id    text NOT NULL DEFAULT '' CHECK (length(account_id) <= 200),
    account_name  text NOT NULL DEFAULT '' CHECK (length(account_name) <= 200),
    scopes        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(scopes) <= 100),
    -- Non-secret values: the person's params (a tenant) and what the token
    -- response said worth keeping (an instance URL, a team id).
    params        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    credential    bytea NOT NULL,
    -- Bumped by every refresh, so a caller that saw a token refused can
    -- tell whether someone refreshed it meanwhile.
    credential_version bigint NOT NULL DEFAULT 1,
    -- When the access token stops working; NULL for one that does not.
    expires_at    timestamptz,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'broken')),
    broken_reason text CHECK (length(broken_reason) <= 500),
    broken_at     timestamptz,
    refreshed_at  timestamptz,
    -- The last refresh a refused call asked for: at most one a minute,
    -- so an agent cannot make the provider see a refresh per call.
    refusal_refresh_at timestamptz,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'broken') = (broken_at IS NOT NULL))
);
CREATE INDEX connections_workspace_idx ON connections (workspace_id, provider);
-- The same person connecting the same account again renews their
-- connection; someone else connecting it makes their own (an account id
-- may be a whole organisation's: a Slack team, a Stripe account).
CREATE UNIQUE INDEX connections_account_idx
    ON connections (workspace_id, provider, owner_id, account_id)
    WHERE account_id <> '';

-- A connect flow waiting for its browser at the provider (ten minutes),
-- bound to that browser by a cookie (its digest here) and to the session
-- that started it.
CREATE TABLE connection_flows (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    browser_hash  bytea NOT NULL UNIQUE CHECK (length(browser_hash) = 32),
    state         text NOT NULL CHECK (length(state) BETWEEN 16 AND 200),
    pkce_verifier text CHECK (length(pkce_verifier) BETWEEN 43 AND 128),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    provider      text NOT NULL,
    scopes        text[] NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}',
    return_to     text NOT NULL CHECK (length(return_to) <= 512),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX connection_flows_expires_idx ON connection_flows (expires_at);

-- A deployment's use of a connection, for one provider its manifest
-- declares, with the scopes its binder consented to, for the version
-- they consented for: a deployment moved to another version uses none
-- until someone binds again.
CREATE TABLE deployment_connections (
    deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    provider      text NOT NULL,
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    version_id    uuid NOT NULL REFERENCES agent_versions (id) ON DELETE CASCADE,
    scopes        text[] NOT NULL DEFAULT '{}',
    bound_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    bound_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, provider)
);
CREATE INDEX deployment_connections_connection_idx ON deployment_connections (connection_id);
