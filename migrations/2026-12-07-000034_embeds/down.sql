ALTER TABLE spend_months DROP CONSTRAINT spend_within_embed_cap;
ALTER TABLE runs DROP COLUMN embed_id;
DROP TABLE embed_views;
DROP TABLE embed_counters;
DROP TABLE embed_messages;
DROP TABLE embed_sessions;
DROP TABLE embeds;
