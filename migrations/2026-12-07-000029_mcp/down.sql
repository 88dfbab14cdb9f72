UPDATE runs SET trigger = 'api' WHERE trigger = 'mcp';
ALTER TABLE runs DROP CONSTRAINT runs_trigger_check;
ALTER TABLE runs ADD CONSTRAINT runs_trigger_check
    CHECK (trigger IN ('ui', 'api', 'embed', 'schedule', 'webhook'));
UPDATE api_keys SET scopes = array_remove(scopes, 'mcp');
DELETE FROM api_keys WHERE cardinality(scopes) = 0;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write']::text[]);
