ALTER INDEX search_words_trgm_idx RESET (fastupdate);
DROP INDEX agents_name_search_idx;
ALTER TABLE agents DROP COLUMN name_search;
-- The set-returning deletions and the trigger that called them.
DROP FUNCTION search_deletions(text, integer);
-- A word and every string up to `depth` deleted letters make of it.
CREATE FUNCTION search_deletions(word text, depth integer) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        WITH one AS (
            SELECT overlay(word PLACING '' FROM i FOR 1) AS v
            FROM generate_series(1, length(word)) AS i
            WHERE depth >= 1
        )
        SELECT word
        UNION SELECT v FROM one
        UNION SELECT overlay(one.v PLACING '' FROM i FOR 1)
              FROM one, generate_series(1, length(one.v)) AS i
              WHERE depth >= 2
    $$;

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
    FROM moved, search_deletions(moved.word, search_stored_depth(moved.word)) AS variant
    WHERE moved.fresh
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
