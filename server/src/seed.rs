//! Fills the marketplace with the launch line-up. Idempotent: agents that
//! exist (by slug) are left as they are, so edits survive restarts.

use anyhow::Context as _;
use app::model::Category;
use app::service::DbPool;
use app::service::schema::{agents, users, workspace_members, workspaces};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
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
    readme: String,
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
    let rows: Vec<NewAgent<'_>> = seed
        .iter()
        .map(|a| NewAgent {
            slug: &a.slug,
            owner_user_id: owner,
            workspace_id: workspace,
            name: &a.name,
            summary: &a.summary,
            readme: &a.readme,
            category: &a.category,
            tags: &a.tags,
            icon: &a.icon,
            price_credits: a.price,
        })
        .collect();
    let inserted = diesel::insert_into(agents::table)
        .values(&rows)
        .on_conflict(agents::slug)
        .do_nothing()
        .execute(&mut conn)
        .await
        .context("inserting launch agents")?;
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
        assert!(
            agents
                .iter()
                .all(|a| a.summary.len() <= 280 && !a.readme.is_empty())
        );
    }
}
