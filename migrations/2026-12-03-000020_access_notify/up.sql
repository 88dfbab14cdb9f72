-- Live sockets follow what their caller may see. When a session ends, a key
-- is revoked, or a membership changes or ends, every server hears the
-- user's id on `agentdeck_access` (at commit, from whichever code path made
-- the change) and checks that user's sockets again.
CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentdeck_access',
                      (CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_access_change
    AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_access_change();
-- (Purging dead sessions tells nobody: they were over already.)
CREATE TRIGGER sessions_access_delete
    AFTER DELETE ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now())
    EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER api_keys_access_change
    AFTER UPDATE OF revoked_at ON api_keys
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER workspace_members_access_change
    AFTER UPDATE OF role ON workspace_members
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER workspace_members_access_delete
    AFTER DELETE ON workspace_members
    FOR EACH ROW
    EXECUTE FUNCTION notify_access_change();
