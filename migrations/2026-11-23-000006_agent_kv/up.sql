-- Agents' key-value state: one namespace per deployment. The deployments
-- table arrives with the deployments work; the foreign key comes with it.
CREATE TABLE agent_kv (
    deployment_id uuid NOT NULL,
    key text COLLATE "C" NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 512),
    value text NOT NULL CHECK (octet_length(value) <= 262144),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, key)
);
