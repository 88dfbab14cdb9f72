//! Authoring: new agents from templates or forks, the editor's draft (saved
//! over a revision, so two tabs cannot overwrite each other silently), test
//! runs of the editor's text in the real sandbox, publishing immutable
//! semver versions, and who may see an agent.
//!
//! Editing, test runs and publishing need the member role in the agent's
//! workspace (owners and admins have it too); see `market::editable`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::agents::{self as market, AgentRecord, manifest_from, newest_first, versions_of};
use super::auth::audit::{self, Entry};
use super::auth::{Actor, RequestMeta};
use super::schema::{agent_drafts, agent_versions, agents, users, workspace_members, workspaces};
use super::{ServiceError, Services, access, markdown, teams};
use crate::model::account::{Role, Scope};
use crate::model::market::{
    AgentRef, AgentSettings, CreateAgent, Diagnostic, Draft, DraftChanges, DraftSaved, Listing,
    Manifest, OwnAgent, PublishRequest, RunFailure, RunLog, RunReport, Template, TestRunRequest,
    VersionDetail, Visibility,
};
use crate::model::{AgentId, Author, Category, VersionSummary, WorkspaceId};

pub mod action {
    pub const AGENT_CREATED: &str = "agent.create";
    pub const VERSION_PUBLISHED: &str = "agent.publish";
    pub const SETTINGS_CHANGED: &str = "agent.settings";
}

const MAX_TAGS: usize = 10;
const MAX_TAG_CHARS: usize = 40;
const MAX_PRICE: i64 = 1_000_000;
const MAX_README_CHARS: usize = 100_000;
const MAX_CHANGELOG_CHARS: usize = 10_000;
const MAX_EXAMPLE_BYTES: usize = 64 << 10;
const MAX_INPUT_BYTES: usize = 1 << 20;
const MAX_HOSTS: usize = 50;
const MAX_KEYS: usize = 50;

struct TemplateSource {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    source: &'static str,
    manifest: &'static str,
    example: &'static str,
    category: Category,
}

const TEMPLATES: [TemplateSource; 4] = [
    TemplateSource {
        id: "blank",
        name: "Start from scratch",
        description: "A small agent that checks its input and answers with JSON.",
        source: include_str!("templates/blank.js"),
        manifest: "{}",
        example: r#"{"name": "Ada"}"#,
        category: Category::Operations,
    },
    TemplateSource {
        id: "llm",
        name: "Language model",
        description: "Summarises text with the platform's language model (needs the llm capability).",
        source: include_str!("../../../agents/examples/summarizer.js"),
        manifest: r#"{"capabilities": {"llm": true}}"#,
        example: r#"{"text": "Agentdeck runs small programs called agents in a sandbox. Authors publish them; teams deploy them and pay per run.", "sentences": 1}"#,
        category: Category::Content,
    },
    TemplateSource {
        id: "http",
        name: "Web fetcher",
        description: "Fetches a URL from hosts you allow and reports what came back.",
        source: include_str!("../../../agents/examples/fetcher.js"),
        manifest: r#"{"capabilities": {"http": ["api.github.com"]}}"#,
        example: r#"{"url": "https://api.github.com/zen"}"#,
        category: Category::Web,
    },
    TemplateSource {
        id: "kv",
        name: "Counter with storage",
        description: "Keeps counts between runs in the deployment's key-value store.",
        source: include_str!("../../../agents/examples/counter.js"),
        manifest: r#"{"capabilities": {"kv": true}}"#,
        example: r#"{"name": "visits"}"#,
        category: Category::Operations,
    },
];

pub fn templates() -> Vec<Template> {
    TEMPLATES
        .iter()
        .map(|t| Template {
            id: t.id.to_owned(),
            name: t.name.to_owned(),
            description: t.description.to_owned(),
        })
        .collect()
}

fn valid_agent_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= market::MAX_SLUG_CHARS
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// SHA-256 of a version's source, hex: its content hash.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What a new agent starts with.
struct Seed {
    listing: Listing,
    readme: String,
    source: String,
    manifest: Manifest,
    example_input: String,
    forked_from: Option<Uuid>,
}

/// Creates an agent (unpublished, with its draft) in the caller's personal
/// workspace or a team they are a member of.
pub async fn create(
    services: &Services,
    actor: &Actor,
    request: CreateAgent,
    meta: &RequestMeta,
) -> Result<AgentRef, ServiceError> {
    let user = actor.require_scope(Scope::AgentsWrite)?;
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "must be 1 to 80 characters"));
    }
    let slug = match request.slug.as_deref().map(str::trim) {
        Some(slug) if !slug.is_empty() => slug.to_owned(),
        _ => teams::slug_from(&name),
    };
    if !valid_agent_slug(&slug) {
        return Err(ServiceError::invalid(
            "slug",
            "must be 1 to 64 lower-case letters or digits, in words joined by single dashes",
        ));
    }
    let mut conn = services.conn().await?;
    let workspace = match request.workspace.as_deref().map(str::trim) {
        None | Some("") => access::personal_workspace(&mut conn, user).await?,
        Some(team) => {
            let id: Uuid = workspaces::table
                .filter(workspaces::slug.eq(team))
                .select(workspaces::id)
                .first(&mut conn)
                .await
                .optional()?
                .ok_or(ServiceError::NotFound { what: "workspace" })?;
            access::require_role(&mut conn, actor, WorkspaceId(id), Role::Member).await?;
            WorkspaceId(id)
        }
    };
    if let Actor::ApiKey { workspace_id, .. } = actor
        && *workspace_id != workspace
    {
        return Err(ServiceError::Forbidden(
            "this API key acts in another workspace".into(),
        ));
    }
    let seed = match (&request.template, &request.fork_of) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "fork_of",
                "give a template or an agent to fork, not both",
            ));
        }
        (_, Some(parent)) => fork_seed(&mut conn, actor, parent, &name).await?,
        (template, None) => template_seed(template.as_deref().unwrap_or("blank"), &name)?,
    };
    let actor = actor.clone();
    let meta = meta.clone();
    let slug_for_error = slug.clone();
    let id = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id: Option<Uuid> = diesel::insert_into(agents::table)
                .values((
                    agents::slug.eq(&slug),
                    agents::owner_user_id.eq(user.0),
                    agents::workspace_id.eq(workspace.0),
                    agents::name.eq(&name),
                    agents::summary.eq(&seed.listing.summary),
                    agents::readme.eq(&seed.readme),
                    agents::category.eq(seed.listing.category.slug()),
                    agents::tags.eq(&seed.listing.tags),
                    agents::icon.eq(&seed.listing.icon),
                    agents::price_credits.eq(seed.listing.price_credits),
                    agents::forked_from.eq(seed.forked_from),
                ))
                .on_conflict(agents::slug)
                .do_nothing()
                .returning(agents::id)
                .get_result(conn)
                .await
                .optional()?;
            let id = id.ok_or_else(|| ServiceError::Conflict {
                field: "slug",
                message: format!("{slug_for_error:?} is taken; choose another"),
            })?;
            diesel::insert_into(agent_drafts::table)
                .values((
                    agent_drafts::agent_id.eq(id),
                    agent_drafts::name.eq(&name),
                    agent_drafts::summary.eq(&seed.listing.summary),
                    agent_drafts::readme.eq(&seed.readme),
                    agent_drafts::category.eq(seed.listing.category.slug()),
                    agent_drafts::tags.eq(&seed.listing.tags),
                    agent_drafts::icon.eq(&seed.listing.icon),
                    agent_drafts::price_credits.eq(seed.listing.price_credits),
                    agent_drafts::source.eq(&seed.source),
                    agent_drafts::manifest.eq(manifest_json(&seed.manifest)?),
                    agent_drafts::example_input.eq(&seed.example_input),
                    agent_drafts::updated_by.eq(user.0),
                ))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                Entry {
                    action: action::AGENT_CREATED,
                    user: None,
                    actor: &actor,
                    workspace: Some(workspace),
                    target_type: "agent",
                    target_id: id.to_string(),
                    meta: &meta,
                    details: serde_json::json!({
                        "slug": slug,
                        "forked_from": seed.forked_from,
                    }),
                },
            )
            .await?;
            Ok(id)
        })
        .await?;
    let slug: String = agents::table
        .find(id)
        .select(agents::slug)
        .first(&mut conn)
        .await?;
    Ok(AgentRef {
        id: AgentId(id),
        name: request.name.trim().to_owned(),
        slug,
    })
}

fn manifest_json(manifest: &Manifest) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(manifest).map_err(|error| ServiceError::Internal(error.into()))
}

fn template_seed(id: &str, name: &str) -> Result<Seed, ServiceError> {
    let template = TEMPLATES.iter().find(|t| t.id == id).ok_or_else(|| {
        let known: Vec<_> = TEMPLATES.iter().map(|t| t.id).collect();
        ServiceError::invalid("template", format!("must be one of {}", known.join(", ")))
    })?;
    let manifest: Manifest = serde_json::from_str(template.manifest)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("template manifest: {error}")))?;
    Ok(Seed {
        listing: Listing {
            name: name.to_owned(),
            summary: template.description.to_owned(),
            category: template.category,
            tags: Vec::new(),
            icon: "🤖".to_owned(),
            price_credits: 0,
        },
        readme: format!(
            "# {name}\n\n{}\n\n## Input\n\n```json\n{}\n```\n",
            template.description, template.example
        ),
        source: template.source.to_owned(),
        manifest,
        example_input: template.example.to_owned(),
        forked_from: None,
    })
}

/// A copy of the newest version of an agent the caller can see.
async fn fork_seed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    parent: &str,
    name: &str,
) -> Result<Seed, ServiceError> {
    let (parent, _) =
        market::visible(conn, actor, parent.trim())
            .await
            .map_err(|error| match error {
                ServiceError::NotFound { .. } => {
                    ServiceError::invalid("fork_of", "no agent you can see has this slug")
                }
                other => other,
            })?;
    let latest: Option<(Option<String>, serde_json::Value, String, String)> = agent_versions::table
        .filter(agent_versions::agent_id.eq(parent.id))
        .order(newest_first())
        .select((
            agent_versions::source,
            agent_versions::manifest,
            agent_versions::readme,
            agent_versions::example_input,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((Some(source), manifest, readme, example_input)) = latest else {
        return Err(ServiceError::invalid(
            "fork_of",
            "this agent has no published JavaScript version to fork",
        ));
    };
    Ok(Seed {
        listing: Listing {
            name: name.to_owned(),
            summary: parent.summary.clone(),
            category: Category::from_slug(&parent.category).unwrap_or(Category::Operations),
            tags: parent.tags.clone(),
            icon: parent.icon.clone(),
            price_credits: 0,
        },
        readme,
        source,
        manifest: manifest_from(manifest)?,
        example_input,
        forked_from: Some(parent.id),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_drafts)]
struct DraftRow {
    name: String,
    summary: String,
    readme: String,
    category: String,
    tags: Vec<String>,
    icon: String,
    price_credits: i64,
    source: String,
    manifest: serde_json::Value,
    example_input: String,
    revision: i64,
    updated_at: DateTime<Utc>,
}

/// The draft of an agent the caller can edit. Agents published before
/// drafts existed (the seed) start one from their newest version.
pub async fn draft(services: &Services, actor: &Actor, slug: &str) -> Result<Draft, ServiceError> {
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    let row = load_or_start_draft(&mut conn, &agent, actor).await?;
    let versions = versions_of(&mut conn, agent.id).await?;
    let manifest = manifest_from(row.manifest)?;
    let diagnostics = check(services, &agent.slug, &row.source, &manifest).await?;
    Ok(Draft {
        agent: agent.reference(),
        listing: Listing {
            name: row.name,
            summary: row.summary,
            category: Category::from_slug(&row.category).unwrap_or(Category::Operations),
            tags: row.tags,
            icon: row.icon,
            price_credits: row.price_credits,
        },
        readme: row.readme,
        source: row.source,
        manifest,
        example_input: row.example_input,
        revision: row.revision,
        updated_at: row.updated_at,
        visibility: agent.visibility(),
        published: agent.published_at.is_some(),
        versions,
        diagnostics,
    })
}

async fn load_or_start_draft(
    conn: &mut AsyncPgConnection,
    agent: &AgentRecord,
    actor: &Actor,
) -> Result<DraftRow, ServiceError> {
    let load = async |conn: &mut AsyncPgConnection| {
        agent_drafts::table
            .find(agent.id)
            .select(DraftRow::as_select())
            .first::<DraftRow>(conn)
            .await
            .optional()
    };
    if let Some(row) = load(conn).await? {
        return Ok(row);
    }
    let user = actor.require_user()?;
    let latest: Option<(Option<String>, serde_json::Value, String)> = agent_versions::table
        .filter(agent_versions::agent_id.eq(agent.id))
        .order(newest_first())
        .select((
            agent_versions::source,
            agent_versions::manifest,
            agent_versions::example_input,
        ))
        .first(conn)
        .await
        .optional()?;
    let (source, manifest, example) = match latest {
        Some((Some(source), manifest, example)) => (source, manifest, example),
        _ => (
            include_str!("templates/blank.js").to_owned(),
            serde_json::json!({}),
            "{}".to_owned(),
        ),
    };
    diesel::insert_into(agent_drafts::table)
        .values((
            agent_drafts::agent_id.eq(agent.id),
            agent_drafts::name.eq(&agent.name),
            agent_drafts::summary.eq(&agent.summary),
            agent_drafts::readme.eq(&agent.readme),
            agent_drafts::category.eq(&agent.category),
            agent_drafts::tags.eq(&agent.tags),
            agent_drafts::icon.eq(&agent.icon),
            agent_drafts::price_credits.eq(agent.price_credits),
            agent_drafts::source.eq(&source),
            agent_drafts::manifest.eq(&manifest),
            agent_drafts::example_input.eq(&example),
            agent_drafts::updated_by.eq(user.0),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    load(conn)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("draft vanished after insert")))
}

/// The listing, README, manifest and example checked; the field at fault is
/// named.
fn validate(changes: &mut DraftChanges) -> Result<(), ServiceError> {
    let listing = &mut changes.listing;
    listing.name = listing.name.trim().to_owned();
    if listing.name.is_empty() || listing.name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "must be 1 to 80 characters"));
    }
    listing.summary = listing.summary.trim().to_owned();
    if listing.summary.chars().count() > 280 {
        return Err(ServiceError::invalid(
            "summary",
            "must be at most 280 characters",
        ));
    }
    listing.icon = listing.icon.trim().to_owned();
    if listing.icon.chars().count() > 16 {
        return Err(ServiceError::invalid(
            "icon",
            "must be at most 16 characters",
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in &listing.tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tags.contains(&tag) {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS || tag.contains(',') {
            return Err(ServiceError::invalid(
                "tags",
                format!("each tag is at most {MAX_TAG_CHARS} characters, without commas"),
            ));
        }
        tags.push(tag);
    }
    if tags.len() > MAX_TAGS {
        return Err(ServiceError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    listing.tags = tags;
    if !(0..=MAX_PRICE).contains(&listing.price_credits) {
        return Err(ServiceError::invalid(
            "price_credits",
            format!("must be a whole number of credits from 0 to {MAX_PRICE}"),
        ));
    }
    if changes.readme.chars().count() > MAX_README_CHARS {
        return Err(ServiceError::invalid(
            "readme",
            format!("must be at most {MAX_README_CHARS} characters"),
        ));
    }
    if changes.source.len() > runtime::MAX_SCRIPT_BYTES {
        return Err(ServiceError::invalid(
            "source",
            format!("must be at most {} KiB", runtime::MAX_SCRIPT_BYTES >> 10),
        ));
    }
    validate_manifest(&mut changes.manifest)?;
    if changes.example_input.len() > MAX_EXAMPLE_BYTES {
        return Err(ServiceError::invalid(
            "example_input",
            format!("must be at most {} KiB", MAX_EXAMPLE_BYTES >> 10),
        ));
    }
    if !changes.example_input.trim().is_empty() {
        serde_json::from_str::<serde::de::IgnoredAny>(&changes.example_input).map_err(|error| {
            ServiceError::invalid("example_input", format!("is not JSON: {error}"))
        })?;
    }
    Ok(())
}

fn validate_manifest(manifest: &mut Manifest) -> Result<(), ServiceError> {
    let caps = &mut manifest.capabilities;
    let mut hosts = Vec::new();
    for host in &caps.http {
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() || hosts.contains(&host) {
            continue;
        }
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(']') || name.ends_with(']') => (name, Some(port)),
            _ => (host.as_str(), None),
        };
        let name = name.strip_prefix("*.").unwrap_or(name);
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':')
            })
            && !name.starts_with('.')
            && !name.ends_with('.');
        let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|p| p > 0));
        if !name_ok || !port_ok || host.contains('/') {
            return Err(ServiceError::invalid(
                "manifest.capabilities.http",
                format!(
                    "{host:?} is not a host name: write api.example.com, *.example.com or api.example.com:8443 (no scheme or path)"
                ),
            ));
        }
        hosts.push(host);
    }
    if hosts.len() > MAX_HOSTS {
        return Err(ServiceError::invalid(
            "manifest.capabilities.http",
            format!("at most {MAX_HOSTS} hosts"),
        ));
    }
    caps.http = hosts;
    for (field, keys) in [
        ("manifest.capabilities.config", &mut caps.config),
        ("manifest.capabilities.secrets", &mut caps.secrets),
    ] {
        let mut clean: Vec<String> = Vec::new();
        for key in keys.iter() {
            let key = key.trim().to_owned();
            if key.is_empty() || clean.contains(&key) {
                continue;
            }
            if key.len() > 64
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            {
                return Err(ServiceError::invalid(
                    field,
                    format!("{key:?}: keys are up to 64 letters, digits, '_', '-' or '.'"),
                ));
            }
            clean.push(key);
        }
        if clean.len() > MAX_KEYS {
            return Err(ServiceError::invalid(
                field,
                format!("at most {MAX_KEYS} keys"),
            ));
        }
        *keys = clean;
    }
    let maximum = runtime::Limits::platform_maximum();
    let limits = &manifest.limits;
    for (field, value, most) in [
        (
            "manifest.limits.timeout_ms",
            limits.timeout_ms,
            maximum.timeout_ms,
        ),
        (
            "manifest.limits.memory_bytes",
            limits.memory_bytes,
            maximum.memory_bytes,
        ),
        ("manifest.limits.fuel", limits.fuel, maximum.fuel),
        (
            "manifest.limits.output_bytes",
            limits.output_bytes,
            maximum.output_bytes,
        ),
        (
            "manifest.limits.log_bytes",
            limits.log_bytes,
            maximum.log_bytes,
        ),
        (
            "manifest.limits.response_bytes",
            limits.response_bytes,
            maximum.response_bytes,
        ),
    ] {
        if value == 0 || value > most {
            return Err(ServiceError::invalid(
                field,
                format!("must be from 1 to {most}"),
            ));
        }
    }
    Ok(())
}

/// The sandbox's view of a manifest (the same JSON).
pub fn sandbox_manifest(manifest: &Manifest) -> Result<runtime::Manifest, ServiceError> {
    serde_json::to_value(manifest)
        .and_then(serde_json::from_value)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("manifest to sandbox: {error}")))
}

pub fn sandbox(services: &Services) -> Result<&Arc<super::sandbox::Sandbox>, ServiceError> {
    services.sandbox.as_ref().ok_or_else(|| {
        ServiceError::Unavailable("the agent sandbox is not running on this server".into())
    })
}

/// Where the script fails to load, as editor diagnostics.
async fn check(
    services: &Services,
    name: &str,
    source: &str,
    manifest: &Manifest,
) -> Result<Vec<Diagnostic>, ServiceError> {
    let Some(sandbox) = services.sandbox.as_ref() else {
        return Ok(Vec::new());
    };
    let runtime = sandbox.runtime().await?;
    let limits = sandbox_manifest(manifest)?.limits;
    Ok(
        match runtime.prepare_javascript(name, source, &limits).await {
            Ok(_) => Vec::new(),
            Err(error) => vec![diagnostic(&error)],
        },
    )
}

fn diagnostic(error: &runtime::PrepareError) -> Diagnostic {
    match error {
        runtime::PrepareError::Script(failure) => Diagnostic {
            line: failure.line.unwrap_or(1),
            column: failure.column.unwrap_or(1),
            message: failure.message.clone(),
        },
        other => Diagnostic {
            line: 1,
            column: 1,
            message: other.to_string(),
        },
    }
}

/// Saves the editor's draft over `changes.revision`; refused with 409 when
/// another save came first, so nothing is overwritten unseen.
pub async fn save_draft(
    services: &Services,
    actor: &Actor,
    slug: &str,
    mut changes: DraftChanges,
) -> Result<DraftSaved, ServiceError> {
    validate(&mut changes)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    load_or_start_draft(&mut conn, &agent, actor).await?;
    let saved: Option<(i64, DateTime<Utc>)> = diesel::update(
        agent_drafts::table
            .filter(agent_drafts::agent_id.eq(agent.id))
            .filter(agent_drafts::revision.eq(changes.revision)),
    )
    .set((
        agent_drafts::name.eq(&changes.listing.name),
        agent_drafts::summary.eq(&changes.listing.summary),
        agent_drafts::readme.eq(&changes.readme),
        agent_drafts::category.eq(changes.listing.category.slug()),
        agent_drafts::tags.eq(&changes.listing.tags),
        agent_drafts::icon.eq(&changes.listing.icon),
        agent_drafts::price_credits.eq(changes.listing.price_credits),
        agent_drafts::source.eq(&changes.source),
        agent_drafts::manifest.eq(manifest_json(&changes.manifest)?),
        agent_drafts::example_input.eq(&changes.example_input),
        agent_drafts::revision.eq(agent_drafts::revision + 1),
        agent_drafts::updated_by.eq(user.0),
        agent_drafts::updated_at.eq(diesel::dsl::now),
    ))
    .returning((agent_drafts::revision, agent_drafts::updated_at))
    .get_result(&mut conn)
    .await
    .optional()?;
    let Some((revision, updated_at)) = saved else {
        let current: i64 = agent_drafts::table
            .find(agent.id)
            .select(agent_drafts::revision)
            .first(&mut conn)
            .await?;
        return Err(ServiceError::Conflict {
            field: "revision",
            message: format!(
                "the draft was saved elsewhere (revision {current}, yours is based on {}); reload it, or copy your text first",
                changes.revision
            ),
        });
    };
    let diagnostics = check(services, &agent.slug, &changes.source, &changes.manifest).await?;
    Ok(DraftSaved {
        revision,
        updated_at,
        diagnostics,
    })
}

/// Runs the editor's current text in the real sandbox. Test runs start
/// with empty storage, get no config or secret values, and reach the model
/// and the hosts the manifest grants.
pub async fn test_run(
    services: &Services,
    actor: &Actor,
    slug: &str,
    mut request: TestRunRequest,
) -> Result<RunReport, ServiceError> {
    if request.source.len() > runtime::MAX_SCRIPT_BYTES {
        return Err(ServiceError::invalid(
            "source",
            format!("must be at most {} KiB", runtime::MAX_SCRIPT_BYTES >> 10),
        ));
    }
    validate_manifest(&mut request.manifest)?;
    {
        let mut conn = services.conn().await?;
        market::editable(&mut conn, actor, slug).await?;
    }
    execute(services, slug, request).await
}

/// Runs `request`'s script once in the sandbox (its input checked to be JSON).
async fn execute(
    services: &Services,
    slug: &str,
    request: TestRunRequest,
) -> Result<RunReport, ServiceError> {
    if request.input.len() > MAX_INPUT_BYTES {
        return Err(ServiceError::invalid("input", "must be at most 1 MiB"));
    }
    let input = if request.input.trim().is_empty() {
        "null".to_owned()
    } else {
        request.input.clone()
    };
    serde_json::from_str::<serde::de::IgnoredAny>(&input)
        .map_err(|error| ServiceError::invalid("input", format!("is not JSON: {error}")))?;
    let sandbox = sandbox(services)?;
    let runtime = sandbox.runtime().await?;
    let manifest = sandbox_manifest(&request.manifest)?;
    let prepared = match runtime
        .prepare_javascript(slug, &request.source, &manifest.limits)
        .await
    {
        Ok(prepared) => prepared,
        Err(error) => {
            let spot = diagnostic(&error);
            let code = match error {
                runtime::PrepareError::Script(_) => "syntax_error",
                runtime::PrepareError::Load(run) => {
                    return Ok(failed_report(run.code(), run.to_string(), None));
                }
                _ => "internal",
            };
            return Ok(failed_report(
                code,
                spot.message,
                Some((spot.line, spot.column)),
            ));
        }
    };
    let mut host = runtime::HostContext::new(manifest.capabilities.clone())
        .with_llm(Arc::clone(&sandbox.llm))
        .with_http(sandbox.fetcher.clone())
        .with_config(BTreeMap::new())
        .with_secrets(BTreeMap::new());
    if manifest.capabilities.kv {
        host = host.with_kv(Arc::new(runtime::kv::MemoryKv::new()));
    }
    let outcome = runtime.run(&prepared, &input, &manifest.limits, host).await;
    Ok(report(outcome))
}

/// "Try it" on the agent page: the newest published version, run once
/// for a signed-in user with their input, empty storage and no config.
/// Paid agents will charge for this once credits exist (the billing work).
pub async fn try_run(
    services: &Services,
    actor: &Actor,
    slug: &str,
    input: String,
) -> Result<RunReport, ServiceError> {
    actor.require_scope(Scope::RunsWrite)?;
    let (source, manifest) = {
        let mut conn = services.conn().await?;
        let (agent, _) = market::visible(&mut conn, actor, slug).await?;
        let latest: Option<(Option<String>, serde_json::Value)> = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent.id))
            .order(newest_first())
            .select((agent_versions::source, agent_versions::manifest))
            .first(&mut conn)
            .await
            .optional()?;
        match latest {
            Some((Some(source), manifest)) => (source, manifest_from(manifest)?),
            _ => {
                return Err(ServiceError::Conflict {
                    field: "agent",
                    message: "this agent has no published version to run".into(),
                });
            }
        }
    };
    execute(
        services,
        slug,
        TestRunRequest {
            source,
            manifest,
            input,
        },
    )
    .await
}

fn failed_report(code: &str, message: String, at: Option<(u32, u32)>) -> RunReport {
    RunReport {
        output: None,
        error: Some(RunFailure {
            code: code.to_owned(),
            message,
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
        }),
        logs: Vec::new(),
        logs_truncated: false,
        duration_us: 0,
        fuel_used: 0,
        peak_memory_bytes: 0,
    }
}

fn report(outcome: runtime::Outcome) -> RunReport {
    let (output, error) = match &outcome.result {
        Ok(output) => (
            Some(
                serde_json::from_str::<serde_json::Value>(output)
                    .and_then(|value| serde_json::to_string_pretty(&value))
                    .unwrap_or_else(|_| output.clone()),
            ),
            None,
        ),
        Err(error) => {
            if let runtime::RunError::Internal { detail } = error {
                tracing::error!(%detail, "test run failed inside the sandbox");
            }
            let (line, column) = match error {
                runtime::RunError::Agent(failure) => (failure.line, failure.column),
                _ => (None, None),
            };
            (
                None,
                Some(RunFailure {
                    code: error.code().to_owned(),
                    message: error.to_string(),
                    line,
                    column,
                }),
            )
        }
    };
    RunReport {
        output,
        error,
        logs: outcome
            .logs
            .into_iter()
            .map(|line| RunLog {
                level: match line.level {
                    runtime::Level::Debug => "debug",
                    runtime::Level::Info => "info",
                    runtime::Level::Warn => "warn",
                    runtime::Level::Error => "error",
                }
                .to_owned(),
                message: line.message,
                at_ms: line.at_ms,
            })
            .collect(),
        logs_truncated: outcome.logs_truncated,
        duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
        fuel_used: outcome.fuel_used,
        peak_memory_bytes: outcome.peak_memory_bytes,
    }
}

/// `MAJOR.MINOR.PATCH` with no leading zeros.
pub fn parse_version(text: &str) -> Result<(i32, i32, i32), ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            "version",
            format!("{text:?} is not a version: write MAJOR.MINOR.PATCH, such as 1.0.0"),
        )
    };
    let parts: Vec<&str> = text.trim().split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(invalid());
    };
    let number = |part: &str| -> Result<i32, ServiceError> {
        if part.is_empty()
            || part.len() > 9
            || !part.bytes().all(|b| b.is_ascii_digit())
            || (part.len() > 1 && part.starts_with('0'))
        {
            return Err(invalid());
        }
        part.parse().map_err(|_| invalid())
    };
    Ok((number(major)?, number(minor)?, number(patch)?))
}

/// Publishes the saved draft as version `request.version`: checked, above
/// every earlier version, immutable from then on. The listing (name,
/// summary, README, price, ...) takes the draft's values.
pub async fn publish(
    services: &Services,
    actor: &Actor,
    slug: &str,
    request: PublishRequest,
    meta: &RequestMeta,
) -> Result<VersionSummary, ServiceError> {
    let user = actor.require_user()?;
    let (major, minor, patch) = parse_version(&request.version)?;
    let version = format!("{major}.{minor}.{patch}");
    let changelog = request.changelog.trim().to_owned();
    if changelog.chars().count() > MAX_CHANGELOG_CHARS {
        return Err(ServiceError::invalid(
            "changelog",
            format!("must be at most {MAX_CHANGELOG_CHARS} characters"),
        ));
    }
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    let draft = load_or_start_draft(&mut conn, &agent, actor).await?;
    if let Some(revision) = request.revision
        && revision != draft.revision
    {
        return Err(ServiceError::Conflict {
            field: "revision",
            message: format!(
                "the draft changed since you saw it (revision {}, you saw {revision}); review it and publish again",
                draft.revision
            ),
        });
    }
    let manifest = manifest_from(draft.manifest.clone())?;
    if let Some(problem) = check(services, &agent.slug, &draft.source, &manifest)
        .await?
        .into_iter()
        .next()
    {
        return Err(ServiceError::invalid(
            "source",
            format!(
                "line {}, column {}: {}; fix it before publishing",
                problem.line, problem.column, problem.message
            ),
        ));
    }
    let actor = actor.clone();
    let meta = meta.clone();
    let agent_id = agent.id;
    let workspace = agent.workspace();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        // One publish at a time per agent, so the version check holds.
        agents::table
            .find(agent_id)
            .select(agents::id)
            .for_update()
            .first::<Uuid>(conn)
            .await?;
        let latest: Option<(String, i32, i32, i32)> = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent_id))
            .order(newest_first())
            .select((
                agent_versions::version,
                agent_versions::version_major,
                agent_versions::version_minor,
                agent_versions::version_patch,
            ))
            .first(conn)
            .await
            .optional()?;
        if let Some((latest, lmajor, lminor, lpatch)) = latest
            && (major, minor, patch) <= (lmajor, lminor, lpatch)
        {
            let message = if (major, minor, patch) == (lmajor, lminor, lpatch) {
                format!("{version} is published already and cannot change; publish a higher version than {latest}")
            } else {
                format!("{version} is lower than the latest version {latest}; versions only go up")
            };
            return Err(ServiceError::Conflict {
                field: "version",
                message,
            });
        }
        diesel::insert_into(agent_versions::table)
            .values((
                agent_versions::agent_id.eq(agent_id),
                agent_versions::version.eq(&version),
                agent_versions::version_major.eq(major),
                agent_versions::version_minor.eq(minor),
                agent_versions::version_patch.eq(patch),
                agent_versions::source_kind.eq("javascript"),
                agent_versions::source.eq(&draft.source),
                agent_versions::artifact_hash.eq(sha256_hex(&draft.source)),
                agent_versions::manifest.eq(&draft.manifest),
                agent_versions::changelog.eq(&changelog),
                agent_versions::readme.eq(&draft.readme),
                agent_versions::example_input.eq(&draft.example_input),
                agent_versions::created_by.eq(user.0),
            ))
            .execute(conn)
            .await?;
        diesel::update(agents::table.find(agent_id))
            .set((
                agents::name.eq(&draft.name),
                agents::summary.eq(&draft.summary),
                agents::readme.eq(&draft.readme),
                agents::category.eq(&draft.category),
                agents::tags.eq(&draft.tags),
                agents::icon.eq(&draft.icon),
                agents::price_credits.eq(draft.price_credits),
                agents::published_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            Entry {
                action: action::VERSION_PUBLISHED,
                user: None,
                actor: &actor,
                workspace: Some(workspace),
                target_type: "agent",
                target_id: agent_id.to_string(),
                meta: &meta,
                details: serde_json::json!({ "version": version, "content_hash": sha256_hex(&draft.source) }),
            },
        )
        .await?;
        Ok(())
    })
    .await?;
    versions_of(&mut conn, agent.id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("published version vanished")))
}

/// One published version in full.
pub async fn version(
    services: &Services,
    actor: &Actor,
    slug: &str,
    version: &str,
) -> Result<VersionDetail, ServiceError> {
    actor.check_key_scope(Scope::AgentsRead)?;
    let mut conn = services.conn().await?;
    let (agent, _) = market::visible(&mut conn, actor, slug).await?;
    #[derive(Queryable)]
    struct Row {
        version: String,
        changelog: String,
        source: Option<String>,
        manifest: serde_json::Value,
        readme: String,
        example_input: String,
        artifact_hash: Option<String>,
        created_at: DateTime<Utc>,
        handle: String,
        display_name: String,
    }
    let row: Row = agent_versions::table
        .inner_join(users::table.on(users::id.eq(agent_versions::created_by)))
        .filter(agent_versions::agent_id.eq(agent.id))
        .filter(agent_versions::version.eq(version.trim()))
        .select((
            agent_versions::version,
            agent_versions::changelog,
            agent_versions::source,
            agent_versions::manifest,
            agent_versions::readme,
            agent_versions::example_input,
            agent_versions::artifact_hash,
            agent_versions::created_at,
            users::handle,
            users::display_name,
        ))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or(ServiceError::NotFound { what: "version" })?;
    let source = row.source.unwrap_or_default();
    Ok(VersionDetail {
        agent: agent.reference(),
        version: row.version,
        changelog: row.changelog,
        content_hash: row.artifact_hash.unwrap_or_else(|| sha256_hex(&source)),
        source,
        manifest: manifest_from(row.manifest)?,
        readme_html: markdown::render(&row.readme),
        example_input: row.example_input,
        published_by: Author {
            handle: row.handle,
            display_name: row.display_name,
        },
        created_at: row.created_at,
    })
}

/// Changes who sees an agent, or takes it off (or back on) the marketplace.
pub async fn change_settings(
    services: &Services,
    actor: &Actor,
    slug: &str,
    settings: AgentSettings,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    if settings.published == Some(true) {
        let versions: i64 = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent.id))
            .count()
            .get_result(&mut conn)
            .await?;
        if versions == 0 {
            return Err(ServiceError::Conflict {
                field: "published",
                message: "publish a version first".into(),
            });
        }
    }
    let actor = actor.clone();
    let meta = meta.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        if let Some(visibility) = settings.visibility {
            diesel::update(agents::table.find(agent.id))
                .set(agents::visibility.eq(visibility.as_str()))
                .execute(conn)
                .await?;
        }
        match settings.published {
            Some(false) => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::published_at.eq(None::<DateTime<Utc>>))
                    .execute(conn)
                    .await?;
            }
            Some(true) if agent.published_at.is_none() => {
                diesel::update(agents::table.find(agent.id))
                    .set(agents::published_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            _ => {}
        }
        audit::record(
            conn,
            Entry {
                action: action::SETTINGS_CHANGED,
                user: None,
                actor: &actor,
                workspace: Some(agent.workspace()),
                target_type: "agent",
                target_id: agent.id.to_string(),
                meta: &meta,
                details: serde_json::json!({
                    "visibility": settings.visibility.map(Visibility::as_str),
                    "published": settings.published,
                }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

/// The agents the caller can edit, most recently edited first.
pub async fn own_agents(services: &Services, actor: &Actor) -> Result<Vec<OwnAgent>, ServiceError> {
    let user = actor.require_scope(Scope::AgentsRead)?;
    let mut conn = services.conn().await?;
    let mut query = agents::table
        .inner_join(workspaces::table)
        .inner_join(
            workspace_members::table.on(workspace_members::workspace_id
                .eq(agents::workspace_id)
                .and(workspace_members::user_id.eq(user.0))),
        )
        .left_join(agent_drafts::table)
        .filter(workspace_members::role.ne(Role::Viewer.as_str()))
        .select((
            AgentRecord::as_select(),
            workspaces::name,
            agent_drafts::updated_at.nullable(),
        ))
        .order(agents::updated_at.desc())
        .limit(500)
        .into_boxed();
    if let Actor::ApiKey { workspace_id, .. } = actor {
        query = query.filter(agents::workspace_id.eq(workspace_id.0));
    }
    let rows: Vec<(AgentRecord, String, Option<DateTime<Utc>>)> = query.load(&mut conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|(agent, _, _)| agent.id).collect();
    let latest: Vec<(Uuid, String)> = agent_versions::table
        .filter(agent_versions::agent_id.eq_any(&ids))
        .order((
            agent_versions::agent_id,
            agent_versions::version_major.desc(),
            agent_versions::version_minor.desc(),
            agent_versions::version_patch.desc(),
        ))
        .select((agent_versions::agent_id, agent_versions::version))
        .distinct_on(agent_versions::agent_id)
        .load(&mut conn)
        .await?;
    let latest: BTreeMap<Uuid, String> = latest.into_iter().collect();
    let mut own: Vec<OwnAgent> = rows
        .into_iter()
        .map(|(agent, workspace, draft_at)| OwnAgent {
            latest_version: latest.get(&agent.id).cloned(),
            icon: agent.icon.clone(),
            workspace,
            published: agent.published_at.is_some(),
            visibility: agent.visibility(),
            draft_updated_at: draft_at.unwrap_or(agent.updated_at),
            agent: agent.reference(),
        })
        .collect();
    own.sort_by_key(|own| std::cmp::Reverse(own.draft_updated_at));
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_plain_numbers() {
        assert_eq!(parse_version("1.0.0").unwrap(), (1, 0, 0));
        assert_eq!(parse_version(" 10.20.3 ").unwrap(), (10, 20, 3));
        for bad in [
            "1.0",
            "1.0.0.0",
            "01.0.0",
            "1.0.0-beta",
            "v1.0.0",
            "",
            "1..0",
            "1.0.x",
            "9999999999.0.0",
        ] {
            assert!(
                matches!(
                    parse_version(bad),
                    Err(ServiceError::Invalid {
                        field: "version",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_manifest_matches_the_sandbox_s() {
        let ours = Manifest::default();
        let theirs = runtime::Manifest::default();
        assert_eq!(
            serde_json::to_value(&ours).unwrap(),
            serde_json::to_value(&theirs).unwrap()
        );
        let mut granted = Manifest::default();
        granted.capabilities.llm = true;
        granted.capabilities.http = vec!["api.example.com".into()];
        granted.limits.timeout_ms = 500;
        let converted = sandbox_manifest(&granted).unwrap();
        assert!(converted.capabilities.llm);
        assert_eq!(converted.limits.timeout_ms, 500);
    }

    #[test]
    fn manifests_are_checked_field_by_field() {
        let mut hosts = Manifest::default();
        hosts.capabilities.http = vec!["https://example.com/path".into()];
        assert!(matches!(
            validate_manifest(&mut hosts),
            Err(ServiceError::Invalid {
                field: "manifest.capabilities.http",
                ..
            })
        ));
        let mut ok = Manifest::default();
        ok.capabilities.http = vec![
            " API.example.com ".into(),
            "*.example.org".into(),
            "localhost:8080".into(),
        ];
        validate_manifest(&mut ok).unwrap();
        assert_eq!(
            ok.capabilities.http,
            ["api.example.com", "*.example.org", "localhost:8080"]
        );
        let mut limits = Manifest::default();
        limits.limits.timeout_ms = 0;
        assert!(matches!(
            validate_manifest(&mut limits),
            Err(ServiceError::Invalid {
                field: "manifest.limits.timeout_ms",
                ..
            })
        ));
    }

    #[test]
    fn agent_slugs() {
        for good in ["a", "seo-specialist", "agent-2"] {
            assert!(valid_agent_slug(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", &"a".repeat(65)] {
            assert!(!valid_agent_slug(bad), "{bad}");
        }
    }

    #[test]
    fn templates_parse() {
        for template in &TEMPLATES {
            let seed = template_seed(template.id, "Test").unwrap();
            assert!(!seed.source.is_empty());
            serde_json::from_str::<serde_json::Value>(&seed.example_input).unwrap();
        }
    }
}
