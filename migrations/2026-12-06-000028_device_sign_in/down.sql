DROP TABLE device_grants;
DROP INDEX api_keys_made_by_idx;
ALTER TABLE api_keys DROP COLUMN made_by_key_id;
UPDATE api_keys SET scopes = array_remove(scopes, 'keys:write');
DELETE FROM api_keys WHERE cardinality(scopes) = 0;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read']::text[]);
