-- Web embeds: a deployment on other websites, as a chat bubble or an
-- inline form, framed only by the origins its owner allows. Visitors have
-- no account: a random id kept in the frame's own storage, and limits per
-- visitor, per address and per embed (`embed_counters`). The secret that
-- signs a site's `user` claims is sealed with the secrets key.
CREATE TABLE embeds (
    id                 uuid PRIMARY KEY,
    deployment_id      uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- Runs start as this member (whoever made or last changed it).
    created_by         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    allowed_origins    text[] NOT NULL CHECK (cardinality(allowed_origins) BETWEEN 1 AND 20),
    development        boolean NOT NULL DEFAULT false,
    input              text NOT NULL CHECK (input IN ('chat', 'form')),
    look               jsonb NOT NULL,
    per_visitor_minute integer NOT NULL CHECK (per_visitor_minute BETWEEN 1 AND 60),
    per_visitor_day    integer NOT NULL CHECK (per_visitor_day BETWEEN 1 AND 10000),
    per_embed_minute   integer NOT NULL CHECK (per_embed_minute BETWEEN 1 AND 6000),
    daily_cap_credits  bigint CHECK (daily_cap_credits BETWEEN 0 AND 1000000000),
    secret             bytea NOT NULL,
    enabled            boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embeds_deployment_idx ON embeds (deployment_id, created_at);

-- A visitor's conversation with a chat embed: one per visitor (and signed
-- user, when the site sends one) until the visitor clears it. Purged 30
-- days after its last message.
CREATE TABLE embed_sessions (
    id          uuid PRIMARY KEY,
    embed_id    uuid NOT NULL REFERENCES embeds (id) ON DELETE CASCADE,
    visitor     text NOT NULL CHECK (length(visitor) BETWEEN 16 AND 64),
    site_user   text CHECK (length(site_user) BETWEEN 1 AND 128),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embed_sessions_visitor_idx ON embed_sessions (embed_id, visitor, updated_at);
CREATE INDEX embed_sessions_updated_idx ON embed_sessions (updated_at);

-- What a visitor sent; the answer is its run's output (read with it).
CREATE TABLE embed_messages (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES embed_sessions (id) ON DELETE CASCADE,
    text        text NOT NULL,
    run_id      uuid REFERENCES runs (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embed_messages_session_idx ON embed_messages (session_id, created_at);
CREATE INDEX embed_messages_run_idx ON embed_messages (run_id) WHERE run_id IS NOT NULL;

-- Fixed-window counters of the limits: `subject` is `v:<visitor>`,
-- `a:<address or /64>` or `e` (the whole embed); `span` `m` (a minute)
-- or `d` (a UTC day), starting at `since`. Old windows are purged.
CREATE TABLE embed_counters (
    embed_id  uuid NOT NULL REFERENCES embeds (id) ON DELETE CASCADE,
    subject   text NOT NULL,
    span      text NOT NULL CHECK (span IN ('m', 'd')),
    since     timestamptz NOT NULL,
    count     integer NOT NULL,
    PRIMARY KEY (embed_id, subject, span, since)
);
CREATE INDEX embed_counters_since_idx ON embed_counters (since);

-- Views (a frame's session opened) per embed and UTC day; runs, failures
-- and spend come from `runs`.
CREATE TABLE embed_views (
    embed_id  uuid NOT NULL REFERENCES embeds (id) ON DELETE CASCADE,
    day       date NOT NULL,
    views     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (embed_id, day)
);

ALTER TABLE runs ADD COLUMN embed_id uuid REFERENCES embeds (id) ON DELETE SET NULL;
CREATE INDEX runs_embed_idx ON runs (embed_id, created_at) WHERE embed_id IS NOT NULL;
-- An embed's daily cap counts in `spend_months` too: scope `embed`, its
-- `month` the UTC day.
ALTER TABLE spend_months DROP CONSTRAINT spend_months_scope_check;
ALTER TABLE spend_months ADD CONSTRAINT spend_months_scope_check
    CHECK (scope IN ('deployment', 'api_key', 'embed'));
ALTER TABLE spend_months DROP CONSTRAINT spend_months_month_check;
ALTER TABLE spend_months ADD CONSTRAINT spend_months_month_check
    CHECK (scope = 'embed' OR extract(day FROM month) = 1);
ALTER TABLE spend_months ADD CONSTRAINT spend_within_embed_cap
    CHECK (scope <> 'embed' OR cap IS NULL OR spent <= cap);
