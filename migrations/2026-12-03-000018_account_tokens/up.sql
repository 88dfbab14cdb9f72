-- Links sent by mail that prove something: that the recipient reads an
-- address (`verify_email`: the account's own address, or a new one it is
-- changing to), or that they may set a new password (`reset_password`).
-- Only the SHA-256 of a token is kept; each works once, until it expires.
CREATE TABLE account_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The address the link was sent to, which using it proves.
    email       text NOT NULL CHECK (length(email) <= 254 AND email LIKE '_%@_%'),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX account_tokens_expiry_idx ON account_tokens (expires_at);

-- Bumped whenever the account's credentials change hands or words (a reset,
-- a password change, a new address): device cookies name the epoch they
-- were issued in, so a reset leaves no old browser "known".
ALTER TABLE users ADD COLUMN credentials_epoch integer NOT NULL DEFAULT 0;

-- A GitHub link flow belongs to the session that started it: when that
-- session ends (signed out, or every session ended by a reset) the flow
-- can no longer link anything.
ALTER TABLE oauth_flows
    ADD COLUMN link_session_id uuid REFERENCES sessions (id) ON DELETE CASCADE;
