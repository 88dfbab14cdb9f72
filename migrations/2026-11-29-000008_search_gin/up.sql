-- The marketplace's GIN indexes write every change straight into the index.
-- With the default fast update, new and changed agents wait in a pending
-- list that every search scans from start to end until a vacuum merges it:
-- after a burst of publishes a common word's search read hundreds of pending
-- pages and got three times slower. Agents change rarely and are searched
-- all the time, so the writes pay instead of the reads.
ALTER INDEX agents_search_idx SET (fastupdate = off);
ALTER INDEX agents_name_trgm_idx SET (fastupdate = off);
ALTER INDEX agents_summary_trgm_idx SET (fastupdate = off);
ALTER INDEX agents_tags_idx SET (fastupdate = off);

-- Turning fast update off leaves what is pending in place; merge it now.
SELECT gin_clean_pending_list(index)
FROM unnest(ARRAY['agents_search_idx', 'agents_name_trgm_idx', 'agents_summary_trgm_idx',
                  'agents_tags_idx']::regclass[]) AS index;
