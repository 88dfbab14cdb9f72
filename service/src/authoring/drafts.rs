//! The editor's draft: read (started from the newest version when there is
//! none), and saved over the revision it builds on, with the script's
//! syntax diagnostics from the sandbox.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::actor::Actor;
use crate::agents::{self as market, AgentRecord, manifest_from, newest_first, versions_of};
use crate::schema::{agent_drafts, agent_versions};
use crate::{ServiceError, Services};
use types::Category;
use types::manifest::Manifest;
use types::market::{Diagnostic, Draft, DraftChanges, DraftSaved, Listing};

use super::create::manifest_json;
use super::manifest::validate;

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_drafts)]
pub(super) struct DraftRow {
    pub(super) name: String,
    pub(super) summary: String,
    pub(super) readme: String,
    pub(super) category: String,
    pub(super) tags: Vec<String>,
    pub(super) icon: String,
    pub(super) price_credits: i64,
    pub(super) source: String,
    pub(super) manifest: serde_json::Value,
    pub(super) example_input: String,
    pub(super) revision: i64,
    pub(super) updated_at: DateTime<Utc>,
}

/// The draft of an agent the caller can edit. Agents published before
/// drafts existed (the seed) start one from their newest version.
pub async fn draft(services: &Services, actor: &Actor, slug: &str) -> Result<Draft, ServiceError> {
    let mut conn = services.conn().await?;
    let agent = market::editable(&mut conn, actor, slug).await?;
    let row = load_or_start_draft(&mut conn, &agent, actor).await?;
    let versions = versions_of(&mut conn, agent.id).await?;
    let manifest = manifest_from(row.manifest)?;
    let diagnostics = check(services, actor, &agent.slug, &row.source, &manifest).await?;
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
        source_public: agent.source_public,
        free_tries: u32::try_from(agent.free_tries).unwrap_or(0),
        versions,
        diagnostics,
    })
}

pub(super) async fn load_or_start_draft(
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

/// Where the script fails to load, as editor diagnostics. Loading runs
/// the script's top-level code, so it is a test run's like any other: in
/// their share of the sandbox, with their limits.
pub(super) async fn check(
    services: &Services,
    actor: &Actor,
    name: &str,
    source: &str,
    manifest: &Manifest,
) -> Result<Vec<Diagnostic>, ServiceError> {
    let Some(sandbox) = services.sandbox.as_ref() else {
        return Ok(Vec::new());
    };
    let user = actor.require_user()?;
    let runtime = sandbox.runtime().await?;
    let limits = manifest.limits.clamped(&crate::trials::trial_maximum());
    let _permit = sandbox.trials.admit_check(user).await?;
    Ok(
        match runtime.prepare_javascript(name, source, &limits).await {
            Ok(_) => Vec::new(),
            Err(error) => vec![diagnostic(&error)],
        },
    )
}

pub(super) fn diagnostic(error: &runtime::PrepareError) -> Diagnostic {
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
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    // Who may first: a stranger's draft (its schemas) is never compiled.
    let agent = market::editable(&mut conn, actor, slug).await?;
    validate(&services.connections, &mut changes)?;
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
    let diagnostics = check(
        services,
        actor,
        &agent.slug,
        &changes.source,
        &changes.manifest,
    )
    .await?;
    Ok(DraftSaved {
        revision,
        updated_at,
        diagnostics,
    })
}
