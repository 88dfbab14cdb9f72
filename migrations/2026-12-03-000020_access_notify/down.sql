DROP TRIGGER workspace_members_access_delete ON workspace_members;
DROP TRIGGER workspace_members_access_change ON workspace_members;
DROP TRIGGER api_keys_access_change ON api_keys;
DROP TRIGGER sessions_access_delete ON sessions;
DROP TRIGGER sessions_access_change ON sessions;
DROP FUNCTION notify_access_change();
