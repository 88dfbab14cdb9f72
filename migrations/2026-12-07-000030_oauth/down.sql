DROP TABLE oauth_tokens;
DELETE FROM api_keys WHERE oauth_client_id IS NOT NULL;
ALTER TABLE api_keys DROP COLUMN oauth_client_id;
DROP TABLE oauth_requests;
DROP TABLE oauth_clients;
