-- The marketplace and authoring: ranked and typo-tolerant search, drafts the
-- editor saves, publishing state, reviews whose ratings the agents table
-- follows, and forks.

-- Trigram similarity finds "summarizr" and "Haiku Helpr" (trusted extension:
-- the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Tags join the ranked text; array_to_string is only STABLE, and a generated
-- column needs an IMMUTABLE expression, which text[] → text with ' ' is.
CREATE FUNCTION agent_tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(tags, ' ');

ALTER TABLE agents DROP COLUMN search;
ALTER TABLE agents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', agent_tags_text(tags)), 'B') ||
    setweight(to_tsvector('english', summary), 'B') ||
    setweight(to_tsvector('english', readme), 'D')
) STORED;
CREATE INDEX agents_search_idx ON agents USING gin (search);
-- Names with typos: word similarity against the lower-cased name; and
-- substrings of names and summaries. With these, every branch of the search
-- condition has an index and the planner ORs bitmaps instead of reading
-- every agent (47 ms → 5 ms over 10,000 agents).
CREATE INDEX agents_name_trgm_idx ON agents USING gin (lower(name) gin_trgm_ops);
CREATE INDEX agents_summary_trgm_idx ON agents USING gin (lower(summary) gin_trgm_ops);

-- Ratings sort by a Bayesian mean (two phantom 3-star reviews), so one
-- 5-star review does not outrank a hundred 4.8s.
ALTER TABLE agents ADD COLUMN rating_rank real GENERATED ALWAYS AS (
    (rating_total + 6)::real / (rating_count + 2)
) STORED;

-- Listed only once published; unpublishing clears it and keeps the versions.
ALTER TABLE agents ADD COLUMN published_at timestamptz;
ALTER TABLE agents ADD COLUMN runs_succeeded bigint NOT NULL DEFAULT 0
    CHECK (runs_succeeded >= 0);
ALTER TABLE agents ADD COLUMN forked_from uuid REFERENCES agents (id) ON DELETE SET NULL;
ALTER TABLE agents ADD CONSTRAINT agents_runs_succeeded_le_runs CHECK (runs_succeeded <= runs_count);
-- Seeded agents were listed before publishing existed; the seed now gives
-- them versions.
UPDATE agents SET published_at = created_at;

CREATE INDEX agents_popular_idx ON agents (runs_count DESC, id) WHERE published_at IS NOT NULL;
CREATE INDEX agents_rating_idx ON agents (rating_rank DESC, id) WHERE published_at IS NOT NULL;
CREATE INDEX agents_newest_idx ON agents (published_at DESC, id) WHERE published_at IS NOT NULL;
CREATE INDEX agents_tags_idx ON agents USING gin (tags);

-- updated_at means "the listing changed", not "someone rated it".
DROP TRIGGER agents_updated_at ON agents;
CREATE TRIGGER agents_updated_at
    BEFORE UPDATE OF name, summary, readme, category, tags, icon, visibility, price_credits
    ON agents FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- What each version showed on its page, and the input "Try it" starts with.
ALTER TABLE agent_versions ADD COLUMN readme text NOT NULL DEFAULT ''
    CHECK (length(readme) <= 100000);
ALTER TABLE agent_versions ADD COLUMN example_input text NOT NULL DEFAULT '{}'
    CHECK (octet_length(example_input) <= 65536);

-- Versions only go up: checked here too, so no code path can skip it (the
-- service also locks the agent row, so two publishes cannot race past it).
CREATE FUNCTION agent_versions_increase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM agent_versions
        WHERE agent_id = NEW.agent_id
          AND (version_major, version_minor, version_patch)
              >= (NEW.version_major, NEW.version_minor, NEW.version_patch)
    ) THEN
        RAISE EXCEPTION 'version % is not above the latest version', NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agent_versions_increase BEFORE INSERT ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION agent_versions_increase();
-- Nor can a version disappear while its agent exists.
CREATE FUNCTION agent_versions_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM agents WHERE id = OLD.agent_id) THEN
        RAISE EXCEPTION 'agent versions are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER agent_versions_no_delete BEFORE DELETE ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION agent_versions_no_delete();

-- The editor's working copy: everything a publish turns into a version and
-- a listing. `revision` lets autosave refuse to overwrite another tab's edit.
CREATE TABLE agent_drafts (
    agent_id      uuid PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    summary       text NOT NULL CHECK (length(summary) <= 280),
    readme        text NOT NULL CHECK (length(readme) <= 100000),
    category      text NOT NULL CHECK (category IN
                  ('content', 'marketing', 'sales', 'analytics', 'strategy', 'web', 'operations', 'support')),
    tags          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    icon          text NOT NULL DEFAULT '' CHECK (length(icon) <= 16),
    price_credits bigint NOT NULL DEFAULT 0 CHECK (price_credits >= 0),
    source        text NOT NULL CHECK (octet_length(source) <= 1048576),
    manifest      jsonb NOT NULL DEFAULT '{}',
    example_input text NOT NULL DEFAULT '{}' CHECK (octet_length(example_input) <= 65536),
    revision      bigint NOT NULL DEFAULT 1,
    updated_by    uuid NOT NULL REFERENCES users (id),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One review per user per agent; the author may answer each once.
CREATE TABLE agent_reviews (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id   uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body       text NOT NULL DEFAULT '' CHECK (length(body) <= 5000),
    reply      text CHECK (length(reply) BETWEEN 1 AND 5000),
    reply_by   uuid REFERENCES users (id),
    replied_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, user_id),
    CHECK ((reply IS NULL) = (replied_at IS NULL))
);
CREATE INDEX agent_reviews_agent_idx ON agent_reviews (agent_id, created_at DESC, id DESC);
CREATE TRIGGER agent_reviews_updated_at BEFORE UPDATE OF rating, body ON agent_reviews
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The agents' rating totals follow their reviews, whoever writes them.
CREATE FUNCTION agent_reviews_rating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE agents SET rating_total = rating_total - OLD.rating,
                          rating_count = rating_count - 1
            WHERE id = OLD.agent_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE agents SET rating_total = rating_total + NEW.rating,
                          rating_count = rating_count + 1
            WHERE id = NEW.agent_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER agent_reviews_rating AFTER INSERT OR DELETE OR UPDATE OF rating ON agent_reviews
    FOR EACH ROW EXECUTE FUNCTION agent_reviews_rating();
