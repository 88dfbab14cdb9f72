ALTER TABLE users DROP COLUMN is_admin;
DROP TABLE jobs;
DROP FUNCTION jobs_notify();
