-- Paid agents' source and tries, and metered use of the language model.
--
-- A paid agent's source is shown (and forkable) outside its workspace only
-- when its author marks it public; a free agent's stays public. A try of a
-- paid agent charges its price, after `free_tries` free ones per user.
ALTER TABLE agents
    ADD COLUMN source_public boolean NOT NULL DEFAULT false,
    ADD COLUMN free_tries integer NOT NULL DEFAULT 0 CHECK (free_tries BETWEEN 0 AND 100);
-- The launch line-up (the platform account's agents) is open source.
UPDATE agents SET source_public = true
 WHERE owner_user_id IN (SELECT id FROM users WHERE handle = 'agentdeck');

-- Test runs (the editor's text) and tries (an agent's newest version) are
-- not deployment runs; this is their usage: who ran what, at what price,
-- and the model tokens they used.
CREATE TABLE trial_runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind              text NOT NULL CHECK (kind IN ('test', 'try')),
    agent_id          uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    user_id           uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Who pays: the caller's workspace.
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE RESTRICT,
    price_credits     bigint NOT NULL DEFAULT 0 CHECK (price_credits >= 0),
    free_try          boolean NOT NULL DEFAULT false,
    status            text NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'succeeded', 'failed')),
    llm_calls         integer NOT NULL DEFAULT 0,
    llm_input_tokens  bigint NOT NULL DEFAULT 0,
    llm_output_tokens bigint NOT NULL DEFAULT 0,
    llm_credits       bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX trial_runs_free_idx ON trial_runs (agent_id, user_id) WHERE free_try;
CREATE INDEX trial_runs_workspace_idx ON trial_runs (workspace_id, created_at DESC);

-- A run's model use.
ALTER TABLE runs
    ADD COLUMN llm_calls integer NOT NULL DEFAULT 0,
    ADD COLUMN llm_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN llm_output_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN llm_credits bigint NOT NULL DEFAULT 0;

-- Money moved for a try, and for model calls: each call holds its worst
-- case (`llm_hold`), then the tokens the provider reported are charged
-- (`llm_charge`) and the rest released.
ALTER TABLE ledger_transactions
    ADD COLUMN trial_id uuid REFERENCES trial_runs (id) ON DELETE RESTRICT;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN
    ('starter', 'grant', 'purchase', 'reserve', 'settle', 'release', 'llm_hold', 'llm_charge'));
