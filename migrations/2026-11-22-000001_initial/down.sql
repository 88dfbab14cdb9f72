DROP TABLE agent_versions;
DROP FUNCTION agent_versions_immutable();
DROP TABLE agents;
DROP TABLE users;
DROP FUNCTION set_updated_at();
