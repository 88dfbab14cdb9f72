-- Search at 10,000 agents within its budget (docs/BENCHMARKS.md,
-- "Marketplace search").
--
-- The deletions of a word as an array, computed in a loop: as a set
-- returning SQL function called once per row (a listing's fresh words in
-- the trigger, a query's words in a search) it was planned anew at every
-- call, about 10 ms a word, so publishing one agent took 150 ms and a
-- two-word typo search 20. Now about 40 µs a word.
DROP FUNCTION search_deletions(text, integer);
CREATE FUNCTION search_deletions(word text, depth integer) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
DECLARE
    found text[] := ARRAY[word];
    one   text;
BEGIN
    IF depth >= 1 THEN
        FOR i IN 1 .. length(word) LOOP
            one := overlay(word PLACING '' FROM i FOR 1);
            found := found || one;
            -- Then each letter at or after the first one's place: every
            -- pair of deleted letters once.
            IF depth >= 2 THEN
                FOR j IN i .. length(one) LOOP
                    found := found || overlay(one PLACING '' FROM j FOR 1);
                END LOOP;
            END IF;
        END LOOP;
    END IF;
    RETURN ARRAY(SELECT DISTINCT v FROM unnest(found) AS v ORDER BY v);
END $$;

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

-- The name's words alone, indexed: the first way of finding candidates
-- (every word in the name) asks this instead of the listing's weight-A
-- words, which the planner estimated as the whole listing's (it ignores
-- weights): "summ" while typed was thought to be in a fifth of all names,
-- so it read the whole popular index instead of the 500 names it is in.
ALTER TABLE agents ADD COLUMN name_search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', name)) STORED;
CREATE INDEX agents_name_search_idx ON agents USING gin (name_search) WITH (fastupdate = off);

-- Words are added as agents are published and looked up by every search
-- that finds nothing ("did you mean"): no pending list to scan on each
-- read (as migration 000008 did for the agents' GIN indexes).
ALTER INDEX search_words_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('search_words_trgm_idx'::regclass);
