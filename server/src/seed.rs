//! Fills the marketplace with the launch line-up: twelve JavaScript agents
//! from `agents/launch/<slug>/` (code, manifest, README, example input),
//! each published as version 1.0.0. Idempotent: agents that exist (by slug)
//! are left as they are, so edits survive restarts; one without any version
//! gets 1.0.0.

use anyhow::Context as _;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use service::DbPool;
use service::schema::{agent_versions, agents, users, workspace_members, workspaces};
use types::Category;
use uuid::Uuid;

const LAUNCH_AGENTS: &str = include_str!("../seed/launch_agents.json");
pub const PLATFORM_HANDLE: &str = "agentdeck";
const PLATFORM_NAME: &str = "Agentdeck Labs";

#[derive(Deserialize)]
struct SeedAgent {
    slug: String,
    name: String,
    icon: String,
    category: String,
    price: i64,
    tags: Vec<String>,
    summary: String,
}

/// One launch agent's files, embedded at build time.
struct LaunchFiles {
    slug: &'static str,
    source: &'static str,
    manifest: &'static str,
    readme: &'static str,
    example: &'static str,
}

macro_rules! launch_files {
    ($($slug:literal),* $(,)?) => {
        [$(LaunchFiles {
            slug: $slug,
            source: include_str!(concat!("../../agents/launch/", $slug, "/agent.js")),
            manifest: include_str!(concat!("../../agents/launch/", $slug, "/manifest.json")),
            readme: include_str!(concat!("../../agents/launch/", $slug, "/README.md")),
            example: include_str!(concat!("../../agents/launch/", $slug, "/example.json")),
        }),*]
    };
}

const LAUNCH_FILES: [LaunchFiles; 12] = launch_files![
    "content-creator",
    "sales-manager",
    "crm-assistant",
    "analytics",
    "strategy",
    "website-builder",
    "event-manager",
    "social-media",
    "email-outreach",
    "seo-specialist",
    "customer-support",
    "data-insights",
];

/// What version 1.0.0 of a launch agent holds.
struct LaunchVersion {
    source: &'static str,
    manifest: serde_json::Value,
    readme: &'static str,
    example_input: String,
}

fn launch_version(slug: &str) -> anyhow::Result<LaunchVersion> {
    let files = LAUNCH_FILES
        .iter()
        .find(|files| files.slug == slug)
        .with_context(|| format!("agents/launch/{slug} is missing"))?;
    let manifest: types::manifest::Manifest = serde_json::from_str(files.manifest)
        .with_context(|| format!("agents/launch/{slug}/manifest.json"))?;
    let example: serde_json::Value = serde_json::from_str(files.example)
        .with_context(|| format!("agents/launch/{slug}/example.json"))?;
    let input = example
        .get("input")
        .with_context(|| format!("agents/launch/{slug}/example.json has no input"))?;
    // As publishing checks: schemas of the subset, an example they take.
    for schema in [&manifest.input_schema, &manifest.output_schema]
        .into_iter()
        .flatten()
    {
        types::json_schema::Schema::compile(schema)
            .map_err(|error| anyhow::anyhow!("agents/launch/{slug}/manifest.json: {error}"))?;
    }
    if let Some(schema) = &manifest.input_schema
        && let Err(violations) = types::json_schema::Schema::compile(schema)
            .map_err(|error| anyhow::anyhow!("{error}"))?
            .check(input, "input")
    {
        anyhow::bail!(
            "agents/launch/{slug}/example.json does not meet its input schema: {}",
            violations[0]
        );
    }
    Ok(LaunchVersion {
        source: files.source,
        manifest: serde_json::to_value(manifest)?,
        readme: files.readme,
        example_input: serde_json::to_string_pretty(input)?,
    })
}

#[derive(Insertable)]
#[diesel(table_name = agents)]
struct NewAgent<'a> {
    slug: &'a str,
    owner_user_id: Uuid,
    workspace_id: Uuid,
    name: &'a str,
    summary: &'a str,
    readme: &'a str,
    category: &'a str,
    tags: &'a [String],
    icon: &'a str,
    price_credits: i64,
    /// The launch line-up is open source (its code is in this repository):
    /// everyone may read and fork it, paid ones included.
    source_public: bool,
}

fn launch_agents() -> anyhow::Result<Vec<SeedAgent>> {
    let agents: Vec<SeedAgent> =
        serde_json::from_str(LAUNCH_AGENTS).context("parsing seed/launch_agents.json")?;
    for agent in &agents {
        anyhow::ensure!(
            Category::from_slug(&agent.category).is_some(),
            "seed agent {} has unknown category {}",
            agent.slug,
            agent.category
        );
    }
    Ok(agents)
}

/// Inserts missing launch agents; returns how many were added.
pub async fn run(pool: &DbPool) -> anyhow::Result<usize> {
    let seed = launch_agents()?;
    let mut conn = pool.get().await.context("getting a connection to seed")?;
    diesel::insert_into(users::table)
        .values((
            users::handle.eq(PLATFORM_HANDLE),
            users::display_name.eq(PLATFORM_NAME),
        ))
        .on_conflict(users::handle)
        .do_nothing()
        .execute(&mut conn)
        .await
        .context("creating the platform user")?;
    let owner: Uuid = users::table
        .filter(users::handle.eq(PLATFORM_HANDLE))
        .select(users::id)
        .first(&mut conn)
        .await
        .context("loading the platform user")?;
    diesel::insert_into(workspaces::table)
        .values((
            workspaces::kind.eq("personal"),
            workspaces::slug.eq(PLATFORM_HANDLE),
            workspaces::name.eq(PLATFORM_NAME),
            workspaces::personal_user_id.eq(owner),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await
        .context("creating the platform workspace")?;
    let workspace: Uuid = workspaces::table
        .filter(workspaces::personal_user_id.eq(owner))
        .select(workspaces::id)
        .first(&mut conn)
        .await
        .context("loading the platform workspace")?;
    diesel::insert_into(workspace_members::table)
        .values((
            workspace_members::workspace_id.eq(workspace),
            workspace_members::user_id.eq(owner),
            workspace_members::role.eq("owner"),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await
        .context("making the platform user its workspace's owner")?;
    let versions: Vec<(&str, LaunchVersion)> = seed
        .iter()
        .map(|a| Ok((a.slug.as_str(), launch_version(&a.slug)?)))
        .collect::<anyhow::Result<_>>()?;
    let rows: Vec<NewAgent<'_>> = seed
        .iter()
        .map(|a| NewAgent {
            slug: &a.slug,
            owner_user_id: owner,
            workspace_id: workspace,
            name: &a.name,
            summary: &a.summary,
            readme: versions
                .iter()
                .find(|(slug, _)| *slug == a.slug)
                .map_or("", |(_, v)| v.readme),
            category: &a.category,
            tags: &a.tags,
            icon: &a.icon,
            price_credits: a.price,
            source_public: true,
        })
        .collect();
    let inserted = diesel::insert_into(agents::table)
        .values(&rows)
        .on_conflict(agents::slug)
        .do_nothing()
        .execute(&mut conn)
        .await
        .context("inserting launch agents")?;
    for (slug, version) in &versions {
        let agent: Uuid = agents::table
            .filter(agents::slug.eq(slug))
            .filter(agents::owner_user_id.eq(owner))
            .select(agents::id)
            .first(&mut conn)
            .await
            .with_context(|| format!("loading launch agent {slug}"))?;
        let published: i64 = agent_versions::table
            .filter(agent_versions::agent_id.eq(agent))
            .count()
            .get_result(&mut conn)
            .await
            .context("counting launch versions")?;
        if published > 0 {
            continue;
        }
        diesel::insert_into(agent_versions::table)
            .values((
                agent_versions::agent_id.eq(agent),
                agent_versions::version.eq("1.0.0"),
                agent_versions::version_major.eq(1),
                agent_versions::version_minor.eq(0),
                agent_versions::version_patch.eq(0),
                agent_versions::source_kind.eq("javascript"),
                agent_versions::source.eq(version.source),
                agent_versions::artifact_hash.eq(service::authoring::sha256_hex(version.source)),
                agent_versions::manifest.eq(&version.manifest),
                agent_versions::changelog.eq("First release."),
                agent_versions::readme.eq(version.readme),
                agent_versions::example_input.eq(&version.example_input),
                agent_versions::created_by.eq(owner),
            ))
            .execute(&mut conn)
            .await
            .with_context(|| format!("publishing launch agent {slug} 1.0.0"))?;
        diesel::update(agents::table.find(agent))
            .filter(agents::published_at.is_null())
            .set(agents::published_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await
            .with_context(|| format!("listing launch agent {slug}"))?;
    }
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_launch_line_up_has_twelve_valid_agents() {
        let agents = super::launch_agents().unwrap();
        assert_eq!(agents.len(), 12);
        let mut slugs: Vec<_> = agents.iter().map(|a| a.slug.as_str()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), 12);
        assert!(agents.iter().all(|a| a.summary.len() <= 280));
        for agent in &agents {
            let version = super::launch_version(&agent.slug).unwrap();
            assert!(version.source.contains("export default"), "{}", agent.slug);
            assert!(version.readme.starts_with("# "), "{}", agent.slug);
        }
    }
}
