DROP TRIGGER agent_reviews_rating ON agent_reviews;
DROP FUNCTION agent_reviews_rating();
DROP TABLE agent_reviews;
DROP TABLE agent_drafts;
DROP TRIGGER agent_versions_no_delete ON agent_versions;
DROP FUNCTION agent_versions_no_delete();
DROP TRIGGER agent_versions_increase ON agent_versions;
DROP FUNCTION agent_versions_increase();
ALTER TABLE agent_versions DROP COLUMN example_input;
ALTER TABLE agent_versions DROP COLUMN readme;
DROP TRIGGER agents_updated_at ON agents;
CREATE TRIGGER agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
DROP INDEX agents_tags_idx;
DROP INDEX agents_newest_idx;
DROP INDEX agents_rating_idx;
DROP INDEX agents_popular_idx;
ALTER TABLE agents DROP CONSTRAINT agents_runs_succeeded_le_runs;
ALTER TABLE agents DROP COLUMN forked_from;
ALTER TABLE agents DROP COLUMN runs_succeeded;
ALTER TABLE agents DROP COLUMN published_at;
ALTER TABLE agents DROP COLUMN rating_rank;
DROP INDEX agents_summary_trgm_idx;
DROP INDEX agents_name_trgm_idx;
ALTER TABLE agents DROP COLUMN search;
ALTER TABLE agents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', summary), 'B') ||
    setweight(to_tsvector('english', readme), 'C')
) STORED;
CREATE INDEX agents_search_idx ON agents USING gin (search);
DROP FUNCTION agent_tags_text(text[]);
