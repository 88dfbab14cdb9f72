-- Deployment secrets, encrypted at rest with AES-256-GCM under the key from
-- AGENTDECK_SECRETS_KEY; the deployment and the name are the associated
-- data, so a ciphertext moved to another row does not open. Values are
-- written, used by runs, and never read back through the API.
CREATE TABLE deployment_secrets (
    deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    nonce         bytea NOT NULL CHECK (octet_length(nonce) = 12),
    ciphertext    bytea NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, name)
);
