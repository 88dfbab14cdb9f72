//! A deployment's settings: config, secrets and the monthly spend cap, each
//! changed under the deployment's lock, audited, answered as its view.

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::actor::RequestMeta;
use crate::auth::audit::{self};
use crate::schema::deployments;
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::Role;
use types::account::Scope;
use types::deploy::Deployment;

use super::DeploymentRecord;
use super::audit_deployment;
use super::editable;
use super::lock;
use super::view;
use super::visible;

pub(super) const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// Sets or removes secrets of a deployment (members and up). Runs started
/// from now on get the new values; the values are never shown again.
pub async fn change_secrets(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    changes: crate::secrets::Changes,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    crate::secrets::check(&changes)?;
    let sealer = services.secrets.clone().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    let setting = Setting::Secrets {
        sealer: &sealer,
        changes: &changes,
    };
    change_setting(&mut conn, actor, meta, record, setting).await
}

/// Replaces a deployment's config (members and up). Runs started from now
/// on see the new values; the running deployment is not restarted.
pub async fn change_config(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    config: serde_json::Map<String, serde_json::Value>,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    check_config(&config)?;
    let mut conn = services.conn().await?;
    let record = editable(&mut conn, actor, id).await?;
    change_setting(&mut conn, actor, meta, record, Setting::Config(config)).await
}

/// Sets or lifts a deployment's monthly spend cap (admins and owners of its
/// workspace: a member could otherwise lift the limit set on them).
pub async fn change_spend_cap(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
    cap: Option<i64>,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    crate::spend::check_cap("monthly_credits", cap)?;
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, id).await?;
    access::require_role(
        &mut conn,
        actor,
        WorkspaceId(record.workspace_id),
        Role::Admin,
    )
    .await?;
    change_setting(&mut conn, actor, meta, record, Setting::SpendCap(cap)).await
}

/// One setting of a deployment, as `change_setting` applies it.
pub(super) enum Setting<'a> {
    Config(serde_json::Map<String, serde_json::Value>),
    SpendCap(Option<i64>),
    Secrets {
        sealer: &'a crate::secrets::SecretBox,
        changes: &'a crate::secrets::Changes,
    },
}

impl Setting<'_> {
    /// Its audit action and details (names and keys, never secret values).
    fn audit(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::Config(config) => {
                let keys: Vec<&String> = config.keys().collect();
                (
                    audit::action::DEPLOYMENT_CONFIG_CHANGED,
                    serde_json::json!({ "keys": keys }),
                )
            }
            Self::SpendCap(cap) => (
                audit::action::DEPLOYMENT_SPEND_CAP_CHANGED,
                serde_json::json!({ "monthly_credits": cap }),
            ),
            Self::Secrets { changes, .. } => {
                let names: Vec<&String> = changes.keys().collect();
                (
                    audit::action::DEPLOYMENT_SECRETS_CHANGED,
                    serde_json::json!({ "names": names }),
                )
            }
        }
    }
}

/// Changes one setting of a deployment under its row lock, writes the
/// audit line in the same transaction, and answers the deployment's view:
/// the one shape of config, secrets and spend-cap changes.
pub(super) async fn change_setting(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    record: DeploymentRecord,
    setting: Setting<'_>,
) -> Result<Deployment, ServiceError> {
    let (action, details) = setting.audit();
    let record = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            lock(conn, record.id).await?;
            let changed = diesel::update(deployments::table.find(record.id));
            let record: DeploymentRecord = match &setting {
                Setting::Config(config) => {
                    changed
                        .set((
                            deployments::config.eq(serde_json::Value::Object(config.clone())),
                            deployments::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(DeploymentRecord::as_returning())
                        .get_result(conn)
                        .await?
                }
                Setting::SpendCap(cap) => {
                    changed
                        .set((
                            deployments::spend_cap_credits.eq(*cap),
                            deployments::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(DeploymentRecord::as_returning())
                        .get_result(conn)
                        .await?
                }
                Setting::Secrets { sealer, changes } => {
                    crate::secrets::store(conn, sealer, record.id, changes).await?;
                    let count = crate::secrets::names(conn, record.id).await?.len();
                    if count > crate::secrets::MAX_SECRETS {
                        return Err(ServiceError::invalid(
                            "secrets",
                            format!("at most {}", crate::secrets::MAX_SECRETS),
                        ));
                    }
                    record.clone()
                }
            };
            audit_deployment(
                conn,
                actor,
                meta,
                action,
                WorkspaceId(record.workspace_id),
                record.id,
                details,
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(conn, record).await
}

pub(super) fn check_config(
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ServiceError> {
    let size = serde_json::to_string(config)
        .map(|text| text.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(ServiceError::invalid(
            "config",
            "must be at most 64 KiB of JSON",
        ));
    }
    if let Some((key, _)) = config.iter().find(|(_, value)| !value.is_string()) {
        return Err(ServiceError::invalid(
            "config",
            format!("values are text; {key:?} is not"),
        ));
    }
    Ok(())
}
