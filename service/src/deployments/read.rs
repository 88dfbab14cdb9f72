//! Reading deployments: the caller's list and one deployment.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::deployments;
use crate::{ServiceError, Services};
use types::account::Scope;
use types::deploy::Deployment;

use super::DeploymentRecord;
use super::view;
use super::visible;

/// A workspace's deployments listed at once.
pub(super) const LIST_LIMIT: i64 = 200;

/// The deployments of the caller's workspaces (a key's own only), newest
/// first.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<Deployment>, ServiceError> {
    require_deploy_or_run_scope(actor)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let mut query = deployments::table
        .inner_join(
            crate::schema::workspace_members::table
                .on(crate::schema::workspace_members::workspace_id.eq(deployments::workspace_id)),
        )
        .filter(crate::schema::workspace_members::user_id.eq(user.0))
        .filter(deployments::deleted_at.is_null())
        .into_boxed();
    if let Some(workspace_id) = actor.bound_workspace() {
        query = query.filter(deployments::workspace_id.eq(workspace_id.0));
    }
    let records: Vec<DeploymentRecord> = query
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .limit(LIST_LIMIT)
        .select(DeploymentRecord::as_select())
        .load(&mut conn)
        .await?;
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        views.push(view(&mut conn, record).await?);
    }
    Ok(views)
}

/// Keys that look at deployments hold `deployments:write`, `runs:read` or
/// `runs:write`.
pub(crate) fn require_deploy_or_run_scope(actor: &Actor) -> Result<(), ServiceError> {
    actor
        .check_key_scope(Scope::DeploymentsWrite)
        .or_else(|_| actor.check_key_scope(Scope::RunsRead))
        .or_else(|_| actor.check_key_scope(Scope::RunsWrite))
}

/// One deployment the caller may see (any role in its workspace).
pub async fn show(
    services: &Services,
    actor: &Actor,
    id: Uuid,
) -> Result<Deployment, ServiceError> {
    require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = visible(&mut conn, actor, id).await?;
    view(&mut conn, record).await
}
