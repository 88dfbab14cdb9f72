CREATE OR REPLACE FUNCTION agent_versions_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM agents WHERE id = OLD.agent_id) THEN
        RAISE EXCEPTION 'agent versions are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END $$;
-- Archived agents' words come back (the trigger still knows archiving).
UPDATE agents SET archived_at = NULL, deleted_at = NULL WHERE archived_at IS NOT NULL;
DROP TRIGGER agents_search_words ON agents;
CREATE TRIGGER agents_search_words
    AFTER INSERT OR DELETE OR UPDATE OF name, summary, tags, category, visibility, published_at
    ON agents FOR EACH ROW EXECUTE FUNCTION agents_search_words();
CREATE OR REPLACE FUNCTION agents_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone  text[] := '{}';
    added text[] := '{}';
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.visibility = 'public'
       AND OLD.published_at IS NOT NULL THEN
        gone := agent_listing_words(OLD.name, OLD.summary, OLD.tags, OLD.category);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.visibility = 'public'
       AND NEW.published_at IS NOT NULL THEN
        added := agent_listing_words(NEW.name, NEW.summary, NEW.tags, NEW.category);
    END IF;
    IF gone = added THEN
        RETURN NULL;
    END IF;
    -- In word order, so concurrent listings never deadlock on the counts.
    WITH moved AS (
        INSERT INTO search_words AS s (word, agents)
        SELECT change.word, change.delta
        FROM (SELECT word, sum(delta)::integer AS delta
              FROM (SELECT unnest(added), 1 UNION ALL SELECT unnest(gone), -1) AS c (word, delta)
              GROUP BY word) AS change
        WHERE change.delta <> 0
        ORDER BY change.word
        ON CONFLICT (word) DO UPDATE SET agents = s.agents + EXCLUDED.agents
        RETURNING s.word, (s.xmax = 0) AS fresh
    )
    INSERT INTO search_word_variants (variant, word)
    SELECT variant, moved.word
    FROM moved, unnest(search_deletions(moved.word, search_stored_depth(moved.word))) AS variant
    WHERE moved.fresh
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
ALTER TABLE agents DROP CONSTRAINT agents_deleted_are_archived;
ALTER TABLE agents DROP COLUMN deleted_at;
ALTER TABLE agents DROP COLUMN archived_at;
