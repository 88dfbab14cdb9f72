DROP TABLE agent_kv;
