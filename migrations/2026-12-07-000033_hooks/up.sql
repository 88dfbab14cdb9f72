-- Inbound webhook URLs: `POST /hooks/<token>` starts a run of a deployment.
-- The token (`hk_…`, 32 random bytes) is the URL's secret and is kept only
-- as its SHA-256; it is shown once, when made or rotated. A hook may also
-- demand a signature: `standard` (Standard Webhooks headers, with a
-- `whsec_` secret) or `sha256` (`X-Signature: sha256=<hex HMAC>` of the
-- body); the shared secret is sealed with the secrets key.
CREATE TABLE hooks (
    id              uuid PRIMARY KEY,
    deployment_id   uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    token_hash      bytea NOT NULL UNIQUE,
    token_prefix    text NOT NULL,
    verify          text NOT NULL DEFAULT 'token' CHECK (verify IN ('token', 'standard', 'sha256')),
    secret          bytea,
    allowed_headers text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_headers) <= 20),
    per_minute      integer NOT NULL DEFAULT 60 CHECK (per_minute BETWEEN 1 AND 600),
    max_body_bytes  integer NOT NULL DEFAULT 262144 CHECK (max_body_bytes BETWEEN 1024 AND 1048576),
    enabled         boolean NOT NULL DEFAULT true,
    last_used_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((verify = 'token') = (secret IS NULL))
);
CREATE INDEX hooks_deployment_idx ON hooks (deployment_id, created_at);

-- What started a run, for the agent's `ctx.trigger`: for a schedule its
-- slot, for a webhook the method, query and allowed headers.
ALTER TABLE runs ADD COLUMN trigger_details jsonb;
