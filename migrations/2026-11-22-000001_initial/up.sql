-- Users, agents and their immutable versions: what the marketplace needs now,
-- shaped for teams, deployments and billing that follow.

CREATE TABLE users (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    handle       text NOT NULL UNIQUE
                 CHECK (handle ~ '^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    email        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE agents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug          text NOT NULL UNIQUE
                  CHECK (slug ~ '^[a-z0-9]+(?:-[a-z0-9]+)*$' AND length(slug) <= 64),
    owner_user_id uuid NOT NULL REFERENCES users (id),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    summary       text NOT NULL CHECK (length(summary) <= 280),
    readme        text NOT NULL DEFAULT '' CHECK (length(readme) <= 100000),
    category      text NOT NULL CHECK (category IN
                  ('content', 'marketing', 'sales', 'analytics', 'strategy', 'web', 'operations', 'support')),
    tags          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    icon          text NOT NULL DEFAULT '' CHECK (length(icon) <= 16),
    visibility    text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted', 'private')),
    price_credits bigint NOT NULL DEFAULT 0 CHECK (price_credits >= 0),
    rating_total  bigint NOT NULL DEFAULT 0 CHECK (rating_total >= 0),
    rating_count  integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    runs_count    bigint NOT NULL DEFAULT 0 CHECK (runs_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', name), 'A') ||
                      setweight(to_tsvector('english', summary), 'B') ||
                      setweight(to_tsvector('english', readme), 'C')
                  ) STORED
);
CREATE INDEX agents_owner_idx ON agents (owner_user_id);
CREATE INDEX agents_listing_idx ON agents (visibility, lower(name), id);
CREATE INDEX agents_category_idx ON agents (category, lower(name), id);
CREATE INDEX agents_search_idx ON agents USING gin (search);

CREATE TABLE agent_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id      uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version       text NOT NULL,
    version_major integer NOT NULL CHECK (version_major >= 0),
    version_minor integer NOT NULL CHECK (version_minor >= 0),
    version_patch integer NOT NULL CHECK (version_patch >= 0),
    -- JavaScript for the built-in runner, or an uploaded WebAssembly component.
    source_kind   text NOT NULL CHECK (source_kind IN ('javascript', 'component')),
    source        text,
    -- Content hash of the compiled artifact in object storage.
    artifact_hash text,
    manifest      jsonb NOT NULL DEFAULT '{}',
    changelog     text NOT NULL DEFAULT '',
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, version),
    CHECK (version = version_major || '.' || version_minor || '.' || version_patch),
    CHECK ((source_kind = 'javascript') = (source IS NOT NULL))
);
CREATE INDEX agent_versions_agent_idx
    ON agent_versions (agent_id, version_major DESC, version_minor DESC, version_patch DESC);

-- Versions are immutable once published.
CREATE FUNCTION agent_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'agent versions are immutable' USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER agent_versions_no_update BEFORE UPDATE ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION agent_versions_immutable();

-- updated_at follows every change, whoever makes it.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
