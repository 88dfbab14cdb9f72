//! Publishing: the saved draft becomes an immutable semver version above
//! every earlier one; reading a version.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::agents::{self as market, manifest_from, newest_first, versions_of};
use crate::auth::audit::{self, Entry};
use crate::schema::{agent_versions, agents, users};
use crate::{ServiceError, Services, markdown};
use types::account::Scope;
use types::market::{PublishRequest, VersionDetail};
use types::{Author, VersionSummary};

use super::action;
use super::drafts::check;
use super::drafts::load_or_start_draft;
use super::sha256_hex;

pub(super) const MAX_CHANGELOG_CHARS: usize = 10_000;
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
    crate::auth::recovery::require_verified(&mut conn, user).await?;
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
    // The example is what the agent page's form starts from: it must be
    // an input the agent takes.
    if !draft.example_input.trim().is_empty()
        && let Ok(example) = serde_json::from_str::<serde_json::Value>(&draft.example_input)
        && let Some(first) =
            super::manifest::violations(manifest.input_schema.as_ref(), &example, "example_input")
                .into_iter()
                .next()
    {
        return Err(ServiceError::invalid(
            "example_input",
            format!(
                "does not meet the input schema: {first}; fix one or the other before publishing"
            ),
        ));
    }
    if let Some(problem) = check(services, actor, &agent.slug, &draft.source, &manifest)
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
    let (agent, role) = market::visible(&mut conn, actor, slug).await?;
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
        // A paid agent's source is its workspace's unless made public.
        source: agent.source_readable(role).then_some(source),
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
