-- Reading runs (their input, output and logs), run lists, metrics and the
-- live deployment and run topics take a scope of their own. Keys that could
-- start runs or manage deployments read them today, so they keep doing so.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) >= 1 AND scopes <@ ARRAY[
        'agents:read', 'agents:write', 'deployments:write',
        'runs:read', 'runs:write', 'billing:read', 'audit:read']::text[]);
UPDATE api_keys SET scopes = scopes || ARRAY['runs:read']::text[]
 WHERE scopes && ARRAY['runs:write', 'deployments:write']::text[]
   AND NOT scopes @> ARRAY['runs:read']::text[];
