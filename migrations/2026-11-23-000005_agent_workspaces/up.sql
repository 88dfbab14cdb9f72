-- Agents belong to a workspace: their author's personal one or a team's.
-- `owner_user_id` stays as the author shown on the agent page.
ALTER TABLE agents ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
UPDATE agents SET workspace_id = workspaces.id
    FROM workspaces WHERE workspaces.personal_user_id = agents.owner_user_id;
ALTER TABLE agents ALTER COLUMN workspace_id SET NOT NULL;
CREATE INDEX agents_workspace_idx ON agents (workspace_id);
