ALTER TABLE oauth_flows DROP COLUMN link_session_id;
ALTER TABLE users DROP COLUMN credentials_epoch;
DROP TABLE account_tokens;
