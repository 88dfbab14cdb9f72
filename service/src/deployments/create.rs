//! Creating a deployment of a visible agent's published version: queued,
//! with its config and sealed secrets, and the deploy job enqueued.

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use uuid::Uuid;

use crate::actor::Actor;
use crate::actor::RequestMeta;
use crate::agents::{self as market};
use crate::auth::audit::{self};
use crate::schema::{deployments, workspaces};
use crate::{ServiceError, Services, access};
use types::WorkspaceId;
use types::account::Role;
use types::account::Scope;
use types::deploy::{CreateDeployment, Deployment};

use super::DeploymentRecord;
use super::audit_deployment;
use super::pipeline::announce;
use super::pipeline::queue_deploy;
use super::pipeline::version_of;
use super::settings::check_config;
use super::view;

pub(super) const MAX_NAME_CHARS: usize = 80;
/// Creates a deployment of a visible agent's published version in a
/// workspace where the caller is at least a member, and queues its deploy.
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    input: CreateDeployment,
) -> Result<Deployment, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let config = input.config.unwrap_or_default();
    check_config(&config)?;
    let secrets: crate::secrets::Changes = input
        .secrets
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, Some(value)))
        .collect();
    crate::secrets::check(&secrets)?;
    let sealer = match (secrets.is_empty(), &services.secrets) {
        (true, _) => None,
        (false, Some(sealer)) => Some(std::sync::Arc::clone(sealer)),
        (false, None) => {
            return Err(ServiceError::Unavailable(
                "this server has no key to keep secrets with".into(),
            ));
        }
    };
    let mut conn = services.conn().await?;
    let workspace = match (input.workspace.as_deref().map(str::trim), actor) {
        (None | Some(""), Actor::ApiKey { workspace_id, .. }) => *workspace_id,
        (None | Some(""), _) => access::personal_workspace(&mut conn, user).await?,
        (Some(slug), _) => {
            let id: Uuid = workspaces::table
                .filter(workspaces::slug.eq(slug))
                .select(workspaces::id)
                .first(&mut conn)
                .await
                .optional()?
                .ok_or(ServiceError::NotFound { what: "workspace" })?;
            WorkspaceId(id)
        }
    };
    access::require_role(&mut conn, actor, workspace, Role::Member).await?;
    let (agent, _) = market::visible(&mut conn, actor, input.agent.trim()).await?;
    agent.require_offered()?;
    let (version_id, version) = version_of(&mut conn, &agent, input.version.as_deref()).await?;
    let name = match input.name.as_deref().map(str::trim) {
        None | Some("") => agent.name.clone(),
        Some(name) if name.chars().count() > MAX_NAME_CHARS => {
            return Err(ServiceError::invalid(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        Some(name) => name.to_owned(),
    };
    let record = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            // Archiving (and deleting) the agent waits for this share lock,
            // and this waits for them: a deployment never starts for an
            // agent archived under it.
            let archived: Option<chrono::DateTime<chrono::Utc>> = crate::schema::agents::table
                .find(agent.id)
                .select(crate::schema::agents::archived_at)
                .for_share()
                .get_result(conn)
                .await?;
            if archived.is_some() {
                return Err(market::archived());
            }
            let record: DeploymentRecord = diesel::insert_into(deployments::table)
                .values((
                    deployments::workspace_id.eq(workspace.0),
                    deployments::agent_id.eq(agent.id),
                    deployments::version_id.eq(version_id),
                    deployments::name.eq(&name),
                    deployments::config.eq(serde_json::Value::Object(config)),
                    deployments::created_by.eq(user.0),
                ))
                .returning(DeploymentRecord::as_returning())
                .get_result(conn)
                .await?;
            if let Some(sealer) = &sealer {
                crate::secrets::store(conn, sealer, record.id, &secrets).await?;
            }
            announce(conn, &record, &version).await?;
            queue_deploy(conn, &record).await?;
            audit_deployment(
                conn,
                actor,
                meta,
                audit::action::DEPLOYMENT_CREATED,
                workspace,
                record.id,
                serde_json::json!({ "agent": agent.slug, "version": version }),
            )
            .await?;
            Ok(record)
        })
        .await?;
    view(&mut conn, record).await
}
