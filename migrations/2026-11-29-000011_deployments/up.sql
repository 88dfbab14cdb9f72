-- Deployments: one agent version running for a workspace. The deploy
-- pipeline (jobs of kind `deployment.deploy`) moves a deployment through
-- queued → building → starting → running, or to failed with a reason;
-- stopping → stopped. Every change of `status` is also a live event on the
-- topic `deployment:<id>`, committed in the same transaction.
--
-- `generation` counts deploys (first deploy, start, restart, redeploy to
-- another version). Each deploy job carries the generation it was made
-- for, so a job outlived by a newer deploy does nothing: the handlers are
-- idempotent by construction.
CREATE TABLE deployments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id      uuid NOT NULL REFERENCES agents (id),
    version_id    uuid NOT NULL REFERENCES agent_versions (id),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN
                      ('queued', 'building', 'starting', 'running', 'failed', 'stopping', 'stopped')),
    status_reason text,
    generation    integer NOT NULL DEFAULT 1 CHECK (generation >= 1),
    config        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE INDEX deployments_workspace_idx ON deployments (workspace_id, created_at DESC, id)
    WHERE deleted_at IS NULL;
CREATE INDEX deployments_agent_idx ON deployments (agent_id);
