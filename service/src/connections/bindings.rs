//! Binding a deployment's needs (its manifest's `connections`) to the
//! workspace's connections, with consent: only the connection's owner or a
//! workspace admin may bind it, after a consent screen that names the
//! agent, its author and the scopes; the binder says yes to exactly those
//! scopes. Unbinding (or disconnecting) stops the agent's use at once: every
//! call looks the binding up.

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::catalogue::{Auth, Provider};
use super::{ConnectionSettings, NOT_FOUND, may_manage, views};
use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::action;
use crate::deployments::{self, DeploymentRecord, audit_deployment};
use crate::schema::{agent_versions, agents, connections, deployment_connections, users};
use crate::{ServiceError, Services};
use types::WorkspaceId;
use types::account::Scope;
use types::connection::{
    BindConnection, DeploymentConnection, DeploymentConnections, ProviderScope,
};
use types::manifest::{ConnectionNeed, Manifest};

/// The manifest of the deployment's version.
async fn manifest_of(
    conn: &mut AsyncPgConnection,
    record: &DeploymentRecord,
) -> Result<Manifest, ServiceError> {
    let manifest: serde_json::Value = agent_versions::table
        .find(record.version_id)
        .select(agent_versions::manifest)
        .first(conn)
        .await?;
    serde_json::from_value(manifest)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("a stored manifest: {e}")))
}

/// The scopes a need asks for: the provider's defaults, then its own.
pub(crate) fn needed_scopes(provider: &Provider, need: &ConnectionNeed) -> Vec<String> {
    let mut scopes = match &provider.auth {
        Auth::Oauth2(o) => o.default_scopes.clone(),
        Auth::ClientCredentials(c) => c.default_scopes.clone(),
        Auth::ApiKey(_) | Auth::Basic(_) => Vec::new(),
    };
    for scope in &need.scopes {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    scopes
}

fn scope_views(provider: &Provider, scopes: &[String]) -> Vec<ProviderScope> {
    let listed = match &provider.auth {
        Auth::Oauth2(o) => o.scopes.as_slice(),
        Auth::ClientCredentials(c) => c.scopes.as_slice(),
        Auth::ApiKey(_) | Auth::Basic(_) => &[],
    };
    scopes
        .iter()
        .map(|name| ProviderScope {
            name: name.clone(),
            description: listed
                .iter()
                .find(|s| &s.name == name)
                .map_or_else(String::new, |s| s.description.clone()),
            default: false,
        })
        .collect()
}

/// Checks a manifest's `connections` against the catalogue (at save and
/// publish): known providers, listed scopes, each provider once.
pub fn check_needs(
    settings: &ConnectionSettings,
    needs: &mut [ConnectionNeed],
) -> Result<(), ServiceError> {
    const FIELD: &str = "manifest.capabilities.connections";
    if needs.len() > 10 {
        return Err(ServiceError::invalid(FIELD, "at most 10 providers"));
    }
    let mut seen: Vec<String> = Vec::new();
    for need in needs.iter_mut() {
        need.provider = need.provider.trim().to_owned();
        let provider = settings.catalogue.get(&need.provider).ok_or_else(|| {
            ServiceError::invalid(
                FIELD,
                format!(
                    "no provider is called {:?} (see GET /api/v1/providers)",
                    need.provider
                ),
            )
        })?;
        if seen.contains(&need.provider) {
            return Err(ServiceError::invalid(
                FIELD,
                format!("{} is listed twice", need.provider),
            ));
        }
        seen.push(need.provider.clone());
        let listed = match &provider.auth {
            Auth::Oauth2(o) => o.scopes.as_slice(),
            Auth::ClientCredentials(c) => c.scopes.as_slice(),
            Auth::ApiKey(_) | Auth::Basic(_) => &[],
        };
        let mut scopes: Vec<String> = Vec::new();
        for scope in &need.scopes {
            let scope = scope.trim().to_owned();
            if !listed.iter().any(|s| s.name == scope) {
                return Err(ServiceError::invalid(
                    FIELD,
                    format!("{} has no scope {scope:?}", provider.name),
                ));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        need.scopes = scopes;
    }
    Ok(())
}

/// What the deployment's agent needs, what each is bound to, and what the
/// consent screen names. For anyone who may see the deployment.
pub async fn list(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
) -> Result<DeploymentConnections, ServiceError> {
    actor
        .check_key_scope(Scope::DeploymentsWrite)
        .or_else(|_| actor.check_key_scope(Scope::ConnectionsWrite))?;
    let mut conn = services.conn().await?;
    let record = deployments::visible_record(&mut conn, actor, deployment).await?;
    overview(services, &mut conn, &record).await
}

async fn overview(
    services: &Services,
    conn: &mut AsyncPgConnection,
    record: &DeploymentRecord,
) -> Result<DeploymentConnections, ServiceError> {
    let settings = &services.connections;
    let manifest = manifest_of(conn, record).await?;
    let version: String = agent_versions::table
        .find(record.version_id)
        .select(agent_versions::version)
        .first(conn)
        .await?;
    let (agent_name, author): (String, String) = agents::table
        .inner_join(users::table)
        .filter(agents::id.eq(record.agent_id))
        .select((agents::name, users::display_name))
        .first(conn)
        .await?;
    type Bound = (
        String,
        Uuid,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
        Uuid,
    );
    let bound: Vec<Bound> = deployment_connections::table
        .left_join(users::table.on(users::id.nullable().eq(deployment_connections::bound_by)))
        .filter(deployment_connections::deployment_id.eq(record.id))
        .select((
            deployment_connections::provider,
            deployment_connections::connection_id,
            users::display_name.nullable(),
            deployment_connections::bound_at,
            deployment_connections::version_id,
        ))
        .load(conn)
        .await?;
    let all = views(conn, settings, record.workspace_id, None).await?;
    let mut items = Vec::new();
    for need in &manifest.capabilities.connections {
        let Some(provider) = settings.catalogue.get(&need.provider) else {
            continue;
        };
        let scopes = needed_scopes(provider, need);
        let binding = bound.iter().find(|(p, ..)| *p == need.provider);
        let connection = binding.and_then(|(_, id, ..)| all.iter().find(|c| c.id == *id).cloned());
        let candidates = all
            .iter()
            .filter(|c| c.provider == need.provider && grants_all(&c.scopes, &scopes, provider))
            .map(|c| c.id)
            .collect();
        items.push(DeploymentConnection {
            provider: provider.id.clone(),
            provider_name: provider.name.clone(),
            available: settings.available(provider),
            scopes: scope_views(provider, &scopes),
            connection,
            bound_by: binding.and_then(|(_, _, by, ..)| by.clone()),
            bound_at: binding.map(|(_, _, _, at, _)| *at),
            stale: binding.is_some_and(|(.., version)| *version != record.version_id),
            candidates,
        });
    }
    Ok(DeploymentConnections {
        agent_name,
        author_name: author,
        deployment_name: record.name.clone(),
        version,
        version_id: record.version_id,
        items,
    })
}

/// Whether a connection granted every scope asked (keys grant what they
/// grant: nothing to check).
fn grants_all(granted: &[String], asked: &[String], provider: &Provider) -> bool {
    match provider.auth {
        Auth::ApiKey(_) | Auth::Basic(_) => true,
        _ => asked.iter().all(|s| granted.contains(s)),
    }
}

/// Binds the deployment's need for `provider` to a connection, after the
/// binder consented to exactly the scopes the agent asks for. For members
/// who may change the deployment and who own the connection, or admins.
pub async fn bind(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    provider_id: &str,
    request: BindConnection,
) -> Result<DeploymentConnections, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    actor.require_scope(Scope::ConnectionsWrite)?;
    let user = actor.require_user()?;
    let settings = &services.connections;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let manifest = manifest_of(&mut conn, &record).await?;
    let need = manifest
        .capabilities
        .connections
        .iter()
        .find(|n| n.provider == provider_id)
        .ok_or_else(|| {
            ServiceError::invalid(
                "provider",
                format!("this deployment's agent does not ask for a {provider_id} connection"),
            )
        })?;
    let provider = settings.provider(provider_id)?;
    let scopes = needed_scopes(provider, need);
    type Row = (Uuid, Uuid, String, Vec<String>, String);
    let (workspace, owner, of_provider, granted, status): Row = connections::table
        .find(request.connection)
        .select((
            connections::workspace_id,
            connections::owner_id,
            connections::provider,
            connections::scopes,
            connections::status,
        ))
        .first(&mut conn)
        .await
        .optional()?
        // Another workspace's connection is as good as missing.
        .filter(|row: &Row| row.0 == record.workspace_id)
        .ok_or_else(|| {
            ServiceError::invalid("connection", "no such connection in this workspace")
        })?;
    if of_provider != provider.id {
        return Err(ServiceError::invalid(
            "connection",
            format!("that is a {of_provider} connection, not {}", provider.id),
        ));
    }
    may_manage(&mut conn, actor, WorkspaceId(workspace), owner).await?;
    if status == "broken" {
        return Err(ServiceError::Conflict {
            field: "connection",
            message: "that connection is broken: connect the account again first".into(),
        });
    }
    if !grants_all(&granted, &scopes, provider) {
        let missing: Vec<&String> = scopes.iter().filter(|s| !granted.contains(s)).collect();
        return Err(ServiceError::Conflict {
            field: "connection",
            message: format!(
                "that connection was not granted {}: connect it again asking for them",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if request.version_id.is_some_and(|v| v != record.version_id) {
        return Err(ServiceError::Conflict {
            field: "version_id",
            message: "the deployment moved to another version since this consent screen was shown: review it again".into(),
        });
    }
    // The connection's owner must still be in the workspace.
    let owner_stays: bool = diesel::select(diesel::dsl::exists(
        crate::schema::workspace_members::table
            .filter(crate::schema::workspace_members::workspace_id.eq(workspace))
            .filter(crate::schema::workspace_members::user_id.eq(owner)),
    ))
    .get_result(&mut conn)
    .await?;
    if !owner_stays {
        return Err(ServiceError::invalid(
            "connection",
            "that connection's owner left the workspace: connect an account again",
        ));
    }
    if !request.consented {
        return Err(ServiceError::invalid(
            "consented",
            "binding needs the consent screen read and agreed to (consented: true)",
        ));
    }
    let mut consented = request.consent.clone();
    consented.sort();
    let mut asked = scopes.clone();
    asked.sort();
    if consented != asked {
        return Err(ServiceError::invalid(
            "consent",
            format!(
                "binding needs consent to exactly the scopes the agent asks for: [{}]",
                scopes.join(", ")
            ),
        ));
    }
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::insert_into(deployment_connections::table)
            .values((
                deployment_connections::deployment_id.eq(record.id),
                deployment_connections::provider.eq(&provider.id),
                deployment_connections::connection_id.eq(request.connection),
                deployment_connections::version_id.eq(record.version_id),
                deployment_connections::scopes.eq(&scopes),
                deployment_connections::bound_by.eq(user.0),
            ))
            .on_conflict((
                deployment_connections::deployment_id,
                deployment_connections::provider,
            ))
            .do_update()
            .set((
                deployment_connections::connection_id.eq(request.connection),
                deployment_connections::version_id.eq(record.version_id),
                deployment_connections::scopes.eq(&scopes),
                deployment_connections::bound_by.eq(user.0),
                deployment_connections::bound_at.eq(services.clock.now()),
            ))
            .execute(conn)
            .await?;
        audit_deployment(
            conn,
            actor,
            meta,
            action::DEPLOYMENT_CONNECTION_BOUND,
            WorkspaceId(record.workspace_id),
            record.id,
            json!({
                "provider": provider.id,
                "connection": request.connection,
                "scopes": scopes,
                "version": record.version_id,
            }),
        )
        .await
    })
    .await?;
    overview(services, &mut conn, &record).await
}

/// Unbinds the deployment's `provider`: its agent's next call is refused.
/// For members who may change the deployment.
pub async fn unbind(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    provider_id: &str,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        let gone = diesel::delete(
            deployment_connections::table
                .filter(deployment_connections::deployment_id.eq(record.id))
                .filter(deployment_connections::provider.eq(provider_id)),
        )
        .execute(conn)
        .await?;
        if gone == 0 {
            return Err(NOT_FOUND);
        }
        audit_deployment(
            conn,
            actor,
            meta,
            action::DEPLOYMENT_CONNECTION_UNBOUND,
            WorkspaceId(record.workspace_id),
            record.id,
            json!({ "provider": provider_id }),
        )
        .await
    })
    .await
}

/// The version a run of `deployment` starting now executes, and the
/// connections it may use: each provider its manifest asks for that is
/// bound for that version (consent was given for that code).
pub(crate) async fn bound_for_run(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    manifest: &Manifest,
) -> Result<(Uuid, Vec<(String, Uuid)>), ServiceError> {
    let version: Uuid = crate::schema::deployments::table
        .find(deployment)
        .select(crate::schema::deployments::version_id)
        .first(conn)
        .await?;
    let rows: Vec<(String, Uuid)> = deployment_connections::table
        .filter(deployment_connections::deployment_id.eq(deployment))
        .filter(deployment_connections::version_id.eq(version))
        .select((
            deployment_connections::provider,
            deployment_connections::connection_id,
        ))
        .load(conn)
        .await?;
    let bound = rows
        .into_iter()
        .filter(|(provider, _)| {
            manifest
                .capabilities
                .connections
                .iter()
                .any(|n| &n.provider == provider)
        })
        .collect();
    Ok((version, bound))
}

/// For a test run in the editor: the author's own newest working
/// connection of each provider the manifest asks for, in the workspace.
pub(crate) async fn authors_own(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    author: Uuid,
    manifest: &Manifest,
) -> Result<Vec<(String, Uuid)>, ServiceError> {
    let mut out = Vec::new();
    for need in &manifest.capabilities.connections {
        let id: Option<Uuid> = connections::table
            .filter(connections::workspace_id.eq(workspace))
            .filter(connections::owner_id.eq(author))
            .filter(connections::provider.eq(&need.provider))
            .filter(connections::status.eq("active"))
            .order(connections::updated_at.desc())
            .select(connections::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(id) = id {
            out.push((need.provider.clone(), id));
        }
    }
    Ok(out)
}
