-- Identity and access: passwords and GitHub identities on users, server-side
-- sessions, workspaces (every user's personal one, and teams) with roles and
-- invites, API keys, and the append-only audit log.

ALTER TABLE users
    ADD COLUMN password_hash  text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
    ADD COLUMN github_id      bigint UNIQUE,
    ADD CONSTRAINT users_email_shape
        CHECK (email IS NULL OR (length(email) <= 254 AND email LIKE '_%@_%'));

-- The cookie holds a random token; only its SHA-256 is stored, so a leaked
-- table cannot be replayed. `id` is the public handle for listing/revoking.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text NOT NULL DEFAULT '' CHECK (length(ip) <= 64),
    user_agent   text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512)
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- A workspace owns agents, deployments and keys. Every user has exactly one
-- personal workspace; teams are workspaces with several members.
CREATE TABLE workspaces (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind             text NOT NULL CHECK (kind IN ('personal', 'team')),
    slug             text NOT NULL UNIQUE
                     CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    personal_user_id uuid UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'personal') = (personal_user_id IS NOT NULL))
);
CREATE TRIGGER workspaces_updated_at BEFORE UPDATE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user_idx ON workspace_members (user_id);

CREATE TABLE workspace_invites (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) <= 254 AND email LIKE '_%@_%'),
    role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid REFERENCES users (id),
    revoked_at   timestamptz
);
CREATE INDEX workspace_invites_workspace_idx ON workspace_invites (workspace_id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    prefix       text NOT NULL UNIQUE,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scopes       text[] NOT NULL CHECK (
                     cardinality(scopes) >= 1 AND scopes <@ ARRAY[
                         'agents:read', 'agents:write', 'deployments:write',
                         'runs:write', 'billing:read']::text[]),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Security-relevant actions. Append-only: the trigger refuses every UPDATE
-- and DELETE, whoever asks, and TRUNCATE too.
CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    action        text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    -- No foreign keys: the record outlives what it names.
    actor_user_id uuid,
    actor_key_id  uuid,
    workspace_id  uuid,
    target_type   text NOT NULL DEFAULT '' CHECK (length(target_type) <= 40),
    target_id     text NOT NULL DEFAULT '' CHECK (length(target_id) <= 200),
    ip            text NOT NULL DEFAULT '' CHECK (length(ip) <= 64),
    user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, id DESC);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Every existing user (the platform account) gets its personal workspace.
INSERT INTO workspaces (kind, slug, name, personal_user_id)
SELECT 'personal', handle, display_name, id FROM users;
INSERT INTO workspace_members (workspace_id, user_id, role)
SELECT id, personal_user_id, 'owner' FROM workspaces WHERE kind = 'personal';
