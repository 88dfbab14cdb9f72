-- Deployments as MCP tools: a key may hold `mcp` (list the workspace's
-- running deployments as tools and call them), and runs started that way
-- are recorded with the trigger `mcp`.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write', 'mcp']::text[]);
ALTER TABLE runs DROP CONSTRAINT runs_trigger_check;
ALTER TABLE runs ADD CONSTRAINT runs_trigger_check
    CHECK (trigger IN ('ui', 'api', 'embed', 'schedule', 'webhook', 'mcp'));
