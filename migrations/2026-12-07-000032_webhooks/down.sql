DROP TRIGGER webhook_wallets ON ledger_accounts;
DROP TRIGGER webhook_versions ON agent_versions;
DROP TRIGGER webhook_deployments ON deployments;
DROP TRIGGER webhook_runs ON runs;
DROP FUNCTION webhook_wallets();
DROP FUNCTION webhook_versions();
DROP FUNCTION webhook_deployments();
DROP FUNCTION webhook_runs();
DROP FUNCTION webhook_emit(uuid, uuid, text, jsonb);
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read',
        'keys:write', 'mcp']::text[]);
