//! New agents: from a template (the blank one and the examples) or as a
//! fork of a visible agent, with a draft to edit.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::agents::{self as market, manifest_from, newest_first};
use crate::auth::audit::{self, Entry};
use crate::schema::{agent_drafts, agent_versions, agents, workspaces};
use crate::{ServiceError, Services, access, teams};
use types::account::{Role, Scope};
use types::manifest::Manifest;
use types::market::{AgentRef, CreateAgent, Listing, Template};
use types::{AgentId, Category, WorkspaceId};

use super::action;

pub(super) struct TemplateSource {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    source: &'static str,
    manifest: &'static str,
    example: &'static str,
    category: Category,
}

pub(super) const TEMPLATES: [TemplateSource; 4] = [
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

pub(super) fn valid_agent_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= market::MAX_SLUG_CHARS
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// What a new agent starts with.
pub(super) struct Seed {
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

pub(super) fn manifest_json(manifest: &Manifest) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(manifest).map_err(|error| ServiceError::Internal(error.into()))
}

pub(super) fn template_seed(id: &str, name: &str) -> Result<Seed, ServiceError> {
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
pub(super) async fn fork_seed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    parent: &str,
    name: &str,
) -> Result<Seed, ServiceError> {
    let (parent, role) = market::visible(conn, actor, parent.trim())
        .await
        .map_err(|error| match error {
            ServiceError::NotFound { .. } => {
                ServiceError::invalid("fork_of", "no agent you can see has this slug")
            }
            other => other,
        })?;
    if !parent.source_readable(role) {
        return Err(ServiceError::invalid(
            "fork_of",
            "this paid agent's source is not public; only public source can be forked",
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
