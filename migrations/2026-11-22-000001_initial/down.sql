DROP TABLE agent_versions;
DROP FUNCTION agent_versions_immutable();
DROP TABLE agents;
DROP TABLE users;
