-- Search that forgives typos as Meilisearch and Typesense do
-- (service::agents::words): a dictionary of the words of every listed
-- agent's listing (name, summary, tags, category), each stored with the
-- strings one or two deleted letters make of it, so a query word finds the
-- words within its typo budget by looking its own deletions up (the
-- symmetric-deletion method); the service checks each candidate's
-- Damerau–Levenshtein distance. Categories join the searched text.

-- A category's words as its label shows them ("Sales & CRM").
CREATE FUNCTION agent_category_text(category text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE category WHEN 'sales' THEN 'sales crm' ELSE category END;

-- The words of a text, lower-cased, in order: what the dictionary holds and
-- what a query is split into (one function, so the two always agree).
-- Split at spaces and punctuation, ASCII and the common Unicode ones; other
-- letters outside ASCII are letters (as to_tsvector takes them).
CREATE FUNCTION search_words_of(body text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT w FROM regexp_split_to_table(lower(body), '[[:space:][:punct:]\u00a0-\u00bf\u2000-\u206f\u3000-\u303f]+') AS w WHERE w <> '' $$;

-- The distinct words of a listing (two to forty letters).
CREATE FUNCTION agent_listing_words(name text, summary text, tags text[], category text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
        FROM search_words_of(name || ' ' || summary || ' ' || agent_tags_text(tags) || ' '
                             || agent_category_text(category)) AS w
        WHERE length(w) BETWEEN 2 AND 40
    $$;

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

-- The deletions a dictionary word is stored with: enough for every query
-- word that may reach it (one typo from five letters, two from nine, so a
-- word of four letters can be one typo away, one of seven two).
CREATE FUNCTION search_stored_depth(word text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN length(word) >= 7 THEN 2 WHEN length(word) >= 4 THEN 1 ELSE 0 END;

-- How many listed agents use each word; a word no listed agent uses any
-- more stays with 0 (and is never offered), so rows are only ever added or
-- counted, never removed under a concurrent search or publish. "C"
-- collation: the key's index serves prefix matches (`LIKE 'marke%'`).
CREATE TABLE search_words (
    word   text COLLATE "C" PRIMARY KEY,
    -- No CHECK (agents >= 0): the count moves in one upsert, whose row to
    -- insert (never inserted for a word going away) would fail it.
    agents integer NOT NULL
);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

CREATE TABLE search_word_variants (
    variant text COLLATE "C" NOT NULL,
    word    text COLLATE "C" NOT NULL REFERENCES search_words (word),
    PRIMARY KEY (variant, word)
);

-- Listed agents' words, counted as listings change (only what is public and
-- published: a private agent's words never reach a search or a suggestion).
CREATE FUNCTION agents_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER agents_search_words
    AFTER INSERT OR DELETE OR UPDATE OF name, summary, tags, category, visibility, published_at
    ON agents FOR EACH ROW EXECUTE FUNCTION agents_search_words();

INSERT INTO search_words (word, agents)
SELECT word, count(*)
FROM agents, unnest(agent_listing_words(name, summary, tags, category)) AS word
WHERE visibility = 'public' AND published_at IS NOT NULL
GROUP BY word;
INSERT INTO search_word_variants (variant, word)
SELECT DISTINCT variant, word
FROM search_words, search_deletions(word, search_stored_depth(word)) AS variant;

-- The searched text gains the category; `listing_search` is the same
-- without the README: small, so checking which words a result matched
-- where (the ranking) stays quick, and indexed, so names and listings
-- are searched before READMEs.
DROP INDEX agents_search_idx;
ALTER TABLE agents DROP COLUMN search;
ALTER TABLE agents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', agent_tags_text(tags)), 'B') ||
    setweight(to_tsvector('english', agent_category_text(category)), 'B') ||
    setweight(to_tsvector('english', summary), 'B') ||
    setweight(to_tsvector('english', readme), 'D')
) STORED;
ALTER TABLE agents ADD COLUMN listing_search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', agent_tags_text(tags)), 'B') ||
    setweight(to_tsvector('english', agent_category_text(category)), 'B') ||
    setweight(to_tsvector('english', summary), 'B')
) STORED;
-- The listing's words as written (no stemming): a word matched as typed
-- ranks above one that only shares its stem ("marketing" finds the
-- Marketing category before "Market Researcher"). Read for ranking the
-- matches only, so no index.
ALTER TABLE agents ADD COLUMN listing_words tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', agent_tags_text(tags)), 'B') ||
    setweight(to_tsvector('simple', agent_category_text(category)), 'B') ||
    setweight(to_tsvector('simple', summary), 'B')
) STORED;
CREATE INDEX agents_search_idx ON agents USING gin (search) WITH (fastupdate = off);
CREATE INDEX agents_listing_search_idx ON agents USING gin (listing_search) WITH (fastupdate = off);
-- The trigram ways of matching names and summaries give way to the
-- dictionary.
DROP INDEX agents_name_trgm_idx;
DROP INDEX agents_summary_trgm_idx;
