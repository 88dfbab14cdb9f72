//! The append-only audit log: security-relevant actions with who, when, from
//! where, and on what. The table refuses updates and deletes (a trigger), and
//! no route offers them.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::{Actor, RequestMeta};
use crate::ServiceError;
use crate::schema::audit_events;
use types::{UserId, WorkspaceId};

/// Action names, `<object>.<verb>`.
pub mod action {
    pub const SIGNUP: &str = "user.signup";
    pub const GITHUB_LINKED: &str = "user.github_link";
    pub const LOGIN: &str = "session.login";
    pub const LOGIN_FAILED: &str = "session.login_failed";
    pub const LOGOUT: &str = "session.logout";
    pub const SESSIONS_REVOKED: &str = "session.revoke_others";
    pub const EMAIL_VERIFICATION_SENT: &str = "user.email_verification_sent";
    pub const EMAIL_VERIFIED: &str = "user.email_verified";
    pub const EMAIL_CHANGE_REQUESTED: &str = "user.email_change_request";
    pub const EMAIL_CHANGED: &str = "user.email_change";
    pub const PASSWORD_RESET_REQUESTED: &str = "user.password_reset_request";
    pub const PASSWORD_RESET: &str = "user.password_reset";
    pub const PASSWORD_CHANGED: &str = "user.password_change";
    pub const KEY_CREATED: &str = "api_key.create";
    pub const KEY_REVOKED: &str = "api_key.revoke";
    pub const DEVICE_APPROVED: &str = "device_sign_in.approve";
    pub const DEVICE_DENIED: &str = "device_sign_in.deny";
    pub const TEAM_CREATED: &str = "team.create";
    pub const MEMBER_INVITED: &str = "member.invite";
    pub const INVITE_REVOKED: &str = "member.invite_revoke";
    pub const MEMBER_JOINED: &str = "member.join";
    pub const ROLE_CHANGED: &str = "member.role_change";
    pub const MEMBER_REMOVED: &str = "member.remove";
    pub const MEMBER_LEFT: &str = "member.leave";
    pub const DEPLOYMENT_CREATED: &str = "deployment.create";
    pub const DEPLOYMENT_STOPPED: &str = "deployment.stop";
    pub const DEPLOYMENT_STARTED: &str = "deployment.start";
    pub const DEPLOYMENT_RESTARTED: &str = "deployment.restart";
    pub const DEPLOYMENT_REDEPLOYED: &str = "deployment.redeploy";
    pub const DEPLOYMENT_DELETED: &str = "deployment.delete";
    pub const DEPLOYMENT_SECRETS_CHANGED: &str = "deployment.secrets_change";
    pub const DEPLOYMENT_CONFIG_CHANGED: &str = "deployment.config_change";
    pub const DEPLOYMENT_SPEND_CAP_CHANGED: &str = "deployment.spend_cap_change";
    pub const SCHEDULE_CREATED: &str = "schedule.create";
    pub const SCHEDULE_CHANGED: &str = "schedule.change";
    pub const SCHEDULE_DELETED: &str = "schedule.delete";
    pub const HOOK_CREATED: &str = "hook.create";
    pub const HOOK_CHANGED: &str = "hook.change";
    pub const HOOK_ROTATED: &str = "hook.rotate";
    pub const HOOK_DELETED: &str = "hook.delete";
    pub const EMBED_CREATED: &str = "embed.create";
    pub const EMBED_CHANGED: &str = "embed.change";
    pub const EMBED_ROTATED: &str = "embed.rotate";
    pub const EMBED_DELETED: &str = "embed.delete";
    pub const WEBHOOK_CREATED: &str = "webhook_endpoint.create";
    pub const WEBHOOK_CHANGED: &str = "webhook_endpoint.change";
    pub const WEBHOOK_DELETED: &str = "webhook_endpoint.delete";
    pub const WEBHOOK_SECRET_ROTATED: &str = "webhook_endpoint.rotate_secret";
    pub const DEPLOYMENT_CONNECTION_BOUND: &str = "deployment.connection_bind";
    pub const DEPLOYMENT_CONNECTION_UNBOUND: &str = "deployment.connection_unbind";
    pub const CONNECTION_CREATED: &str = "connection.create";
    pub const CONNECTION_RENEWED: &str = "connection.renew";
    pub const CONNECTION_DELETED: &str = "connection.delete";
    pub const CONNECTION_BROKEN: &str = "connection.broken";
    pub const KEY_SPEND_CAP_CHANGED: &str = "api_key.spend_cap_change";
    /// Credit movements are audited by the database (migration 000015) as
    /// `credits.<kind>`: starter, grant, purchase, reserve, settle, release.
    pub const CREDITS_PREFIX: &str = "credits.";
}

pub struct Entry<'a> {
    pub action: &'static str,
    /// The acting user when the actor is anonymous (a failed sign-in names
    /// the account it tried).
    pub user: Option<UserId>,
    pub actor: &'a Actor,
    pub workspace: Option<WorkspaceId>,
    pub target_type: &'a str,
    pub target_id: String,
    pub meta: &'a RequestMeta,
    pub details: Value,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: Entry<'_>) -> Result<(), ServiceError> {
    let actor_user: Option<Uuid> = entry.actor.user_id().or(entry.user).map(|id| id.0);
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::action.eq(entry.action),
            audit_events::actor_user_id.eq(actor_user),
            audit_events::actor_key_id.eq(entry.actor.key_id().map(|id| id.0)),
            audit_events::workspace_id.eq(entry.workspace.map(|w| w.0)),
            audit_events::target_type.eq(entry.target_type),
            audit_events::target_id.eq(&entry.target_id),
            audit_events::ip.eq(&entry.meta.ip),
            audit_events::user_agent.eq(&entry.meta.user_agent),
            audit_events::details.eq(&entry.details),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
