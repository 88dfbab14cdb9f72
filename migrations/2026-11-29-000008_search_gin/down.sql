ALTER INDEX agents_search_idx RESET (fastupdate);
ALTER INDEX agents_name_trgm_idx RESET (fastupdate);
ALTER INDEX agents_summary_trgm_idx RESET (fastupdate);
ALTER INDEX agents_tags_idx RESET (fastupdate);
