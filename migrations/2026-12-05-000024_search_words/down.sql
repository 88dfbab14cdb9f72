CREATE INDEX agents_name_trgm_idx ON agents USING gin (lower(name) gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX agents_summary_trgm_idx ON agents USING gin (lower(summary) gin_trgm_ops) WITH (fastupdate = off);
DROP INDEX agents_listing_search_idx;
ALTER TABLE agents DROP COLUMN listing_search;
ALTER TABLE agents DROP COLUMN listing_words;
DROP INDEX agents_search_idx;
ALTER TABLE agents DROP COLUMN search;
ALTER TABLE agents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', agent_tags_text(tags)), 'B') ||
    setweight(to_tsvector('english', summary), 'B') ||
    setweight(to_tsvector('english', readme), 'D')
) STORED;
CREATE INDEX agents_search_idx ON agents USING gin (search) WITH (fastupdate = off);
DROP TRIGGER agents_search_words ON agents;
DROP FUNCTION agents_search_words();
DROP TABLE search_word_variants;
DROP TABLE search_words;
DROP FUNCTION search_stored_depth(text);
DROP FUNCTION search_deletions(text, integer);
DROP FUNCTION agent_listing_words(text, text, text[], text);
DROP FUNCTION search_words_of(text);
DROP FUNCTION agent_category_text(text);
