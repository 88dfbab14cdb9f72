ALTER TABLE agents DROP COLUMN workspace_id;
