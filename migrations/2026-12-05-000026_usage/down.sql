DROP TABLE deployment_usage_days;
DROP TABLE usage_rollup;
DROP TRIGGER runs_stamp_ending ON runs;
DROP FUNCTION runs_stamp_ending();
DROP INDEX runs_ended_xid_idx;
ALTER TABLE runs DROP COLUMN ended_xid;
