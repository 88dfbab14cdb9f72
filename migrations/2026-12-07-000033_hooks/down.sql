ALTER TABLE runs DROP COLUMN trigger_details;
DROP TABLE hooks;
