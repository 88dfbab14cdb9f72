-- Sign-in flows with an external provider (GitHub), bound to the browser
-- that started them: the browser holds a random token in a cookie, the row
-- holds its digest, the `state`, the PKCE verifier and where to go after.
-- A flow is used at most once and expires after minutes.
CREATE TABLE oauth_flows (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    browser_hash  bytea NOT NULL UNIQUE CHECK (length(browser_hash) = 32),
    provider      text NOT NULL CHECK (provider IN ('github')),
    state         text NOT NULL CHECK (length(state) >= 22),
    pkce_verifier text NOT NULL CHECK (length(pkce_verifier) BETWEEN 43 AND 128),
    return_to     text NOT NULL DEFAULT '/' CHECK (return_to LIKE '/%' AND length(return_to) <= 512),
    link_user_id  uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX oauth_flows_expires_idx ON oauth_flows (expires_at);
