DROP TABLE deployment_connections;
DROP TABLE connection_flows;
DROP TABLE connections;
DELETE FROM api_keys WHERE 'connections:write' = ANY (scopes);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write', 'mcp', 'webhooks:write']::text[]);
