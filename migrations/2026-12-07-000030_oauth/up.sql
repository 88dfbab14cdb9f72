-- OAuth 2.1 for MCP clients (the MCP authorization specification): clients
-- register themselves (RFC 7591), a person approves one for a workspace,
-- and the client trades the code (with its PKCE verifier, RFC 7636) for
-- short-lived access tokens bound to /mcp (RFC 8707) and rotating refresh
-- tokens. An approval is an API key holding `mcp` (`api_keys.
-- oauth_client_id`): listed, revoked and audited with the owner's keys;
-- revoking it ends every token made from it.
CREATE TABLE oauth_clients (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id     text NOT NULL UNIQUE CHECK (client_id ~ '^mcp_client_[A-Za-z0-9_-]{16,64}$'),
    -- Digest of the secret of a confidential client; NULL for a public one.
    secret_hash   bytea CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    client_name   text NOT NULL CHECK (length(client_name) BETWEEN 1 AND 100),
    redirect_uris text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 10),
    auth_method   text NOT NULL CHECK (auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
    application_type text NOT NULL DEFAULT 'native' CHECK (application_type IN ('native', 'web')),
    registered_ip text NOT NULL DEFAULT '' CHECK (length(registered_ip) <= 64),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- An authorization a client asked for, waiting for its person (ten
-- minutes), then the code given for it (sixty seconds, used once).
CREATE TABLE oauth_requests (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id      uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    state          text CHECK (length(state) <= 1000),
    code_challenge text NOT NULL CHECK (code_challenge ~ '^[A-Za-z0-9_-]{43}$'),
    resource       text NOT NULL,
    scope          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
    workspace_id   uuid REFERENCES workspaces (id) ON DELETE CASCADE,
    code_hash      bytea UNIQUE CHECK (code_hash IS NULL OR length(code_hash) = 32),
    code_expires_at timestamptz,
    -- The approval the code became (so a second use of the code revokes it).
    key_id         uuid REFERENCES api_keys (id) ON DELETE CASCADE,
    CHECK (status NOT IN ('approved', 'used')
           OR (user_id IS NOT NULL AND workspace_id IS NOT NULL AND code_hash IS NOT NULL))
);
CREATE INDEX oauth_requests_expires_idx ON oauth_requests (expires_at);
CREATE INDEX oauth_requests_client_idx ON oauth_requests (client_id, status);

ALTER TABLE api_keys ADD COLUMN oauth_client_id uuid REFERENCES oauth_clients (id) ON DELETE CASCADE;
CREATE INDEX api_keys_oauth_client_idx ON api_keys (oauth_client_id) WHERE oauth_client_id IS NOT NULL;

-- Access and refresh tokens, as digests. A refresh token is used once:
-- using it again revokes its approval (it was stolen, or replayed).
CREATE TABLE oauth_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    kind       text NOT NULL CHECK (kind IN ('access', 'refresh')),
    key_id     uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    resource   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oauth_tokens_key_idx ON oauth_tokens (key_id);
CREATE INDEX oauth_tokens_expires_idx ON oauth_tokens (expires_at);
