//! Web embeds: a deployment on other websites, as a chat bubble or an
//! inline form (`<script src=".../embed.js" data-embed="emb_…">`), framed
//! only by the origins its owner allows (`origins.rs`). Members and up of
//! the deployment's workspace make, change and delete them (keys with
//! `deployments:write`); anyone who may see the deployment lists them and
//! reads their numbers. Visitors (no account) open a session and send
//! messages (`visitor.rs`), within limits per visitor, per address and per
//! embed (`limits.rs`) and the embed's daily spend cap.

mod limits;
pub mod origins;
mod visitor;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::actor::{Actor, RequestMeta};
use crate::auth::audit::action;
use crate::deployments;
use crate::schema::{agent_versions, embeds};
use crate::{ServiceError, Services, spend};
use types::account::Scope;
use types::embed::{
    Embed, EmbedDay, EmbedInput, EmbedLook, EmbedSettings, EmbedStats, EmbedWithSecret,
};

pub use visitor::{
    FrameView, Visitor, clear, conversation, frame, open_session, purge, send, visitor,
};

/// Embeds one deployment may have.
pub const MAX_PER_DEPLOYMENT: i64 = 10;
const MAX_NAME_CHARS: usize = 80;
const MAX_TITLE_CHARS: usize = 60;
const MAX_GREETING_CHARS: usize = 500;
/// Days of numbers one read answers, at most.
const MAX_STATS_DAYS: i64 = 90;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = embeds)]
pub struct EmbedRecord {
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub workspace_id: Uuid,
    pub created_by: Uuid,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub development: bool,
    pub input: String,
    pub look: serde_json::Value,
    pub per_visitor_minute: i32,
    pub per_visitor_day: i32,
    pub per_embed_minute: i32,
    pub daily_cap_credits: Option<i64>,
    pub secret: Vec<u8>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EmbedRecord {
    fn look(&self) -> EmbedLook {
        serde_json::from_value(self.look.clone()).unwrap_or_default()
    }

    fn settings(&self) -> EmbedSettings {
        EmbedSettings {
            name: self.name.clone(),
            allowed_origins: self.allowed_origins.clone(),
            development: self.development,
            input: EmbedInput::parse(&self.input),
            look: self.look(),
            per_visitor_minute: self.per_visitor_minute,
            per_visitor_day: self.per_visitor_day,
            per_embed_minute: self.per_embed_minute,
            daily_cap_credits: self.daily_cap_credits,
            enabled: self.enabled,
        }
    }

    fn view(&self, public_url: &str) -> Embed {
        let id = public_id(self.id);
        Embed {
            snippet: snippet(public_url, &id),
            id,
            deployment_id: self.deployment_id,
            settings: self.settings(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The origins it admits now.
    fn allowed(&self) -> Vec<origins::Allowed> {
        origins::stored(&self.allowed_origins, self.development)
    }
}

/// An embed's public id: `emb_` and its 32 hex digits.
pub fn public_id(id: Uuid) -> String {
    format!("emb_{}", id.simple())
}

/// The embed an `emb_…` id names, if it is one.
pub fn parse_public_id(text: &str) -> Option<Uuid> {
    let hex = text.strip_prefix("emb_")?;
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| Uuid::try_parse(hex).ok())
        .flatten()
}

fn snippet(public_url: &str, id: &str) -> String {
    format!(r#"<script src="{public_url}/embed.js" data-embed="{id}" async></script>"#)
}

fn aad(embed: Uuid) -> Vec<u8> {
    format!("embed:{embed}").into_bytes()
}

/// A new secret for `user` claims: `embsec_` and 43 base64url characters.
fn new_secret() -> Result<String, ServiceError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
    Ok(format!(
        "embsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn sealer(services: &Services) -> Result<&crate::secrets::SecretBox, ServiceError> {
    services.secrets.as_deref().ok_or_else(|| {
        ServiceError::Unavailable("this server has no key to keep secrets with".into())
    })
}

fn one_line(field: &'static str, text: &str, max: usize) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            format!("must be 1 to {max} characters, without control characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Checks settings and puts them in their stored form.
fn checked(mut settings: EmbedSettings) -> Result<EmbedSettings, ServiceError> {
    settings.name = one_line("name", &settings.name, MAX_NAME_CHARS)?;
    settings.allowed_origins = origins::parse_all(&settings.allowed_origins, settings.development)?
        .iter()
        .map(origins::Allowed::text)
        .collect();
    let look = &mut settings.look;
    look.title = one_line("look.title", &look.title, MAX_TITLE_CHARS)?;
    let color = look.color.trim().to_ascii_lowercase();
    if color.len() != 7
        || !color.starts_with('#')
        || !color[1..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ServiceError::invalid("look.color", "must be #rrggbb"));
    }
    look.color = color;
    look.greeting = match look.greeting.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(greeting)
            if greeting.chars().count() > MAX_GREETING_CHARS
                || greeting.chars().any(|c| c.is_control() && c != '\n') =>
        {
            return Err(ServiceError::invalid(
                "look.greeting",
                format!("must be at most {MAX_GREETING_CHARS} characters"),
            ));
        }
        Some(greeting) => Some(greeting.to_owned()),
    };
    let limits = [
        ("per_visitor_minute", settings.per_visitor_minute, 1, 60),
        ("per_visitor_day", settings.per_visitor_day, 1, 10_000),
        ("per_embed_minute", settings.per_embed_minute, 1, 6_000),
    ];
    for (field, value, low, high) in limits {
        if !(low..=high).contains(&value) {
            return Err(ServiceError::invalid(
                field,
                format!("must be from {low} to {high}"),
            ));
        }
    }
    if settings.per_visitor_day < settings.per_visitor_minute {
        return Err(ServiceError::invalid(
            "per_visitor_day",
            "must be at least per_visitor_minute",
        ));
    }
    if let Some(cap) = settings.daily_cap_credits
        && !(0..=1_000_000_000).contains(&cap)
    {
        return Err(ServiceError::invalid(
            "daily_cap_credits",
            "must be from 0 to 1,000,000,000 credits a day, or null for no daily cap",
        ));
    }
    Ok(settings)
}

/// A chat sends `{"message": "<text>"}`: refused when the agent's input
/// schema would not take it. A form needs the schema's properties.
async fn check_input_fits(
    services: &Services,
    conn: &mut AsyncPgConnection,
    deployment: &deployments::DeploymentRecord,
    input: EmbedInput,
) -> Result<(), ServiceError> {
    let manifest: serde_json::Value = agent_versions::table
        .find(deployment.version_id)
        .select(agent_versions::manifest)
        .first(conn)
        .await?;
    if input == EmbedInput::Form {
        // A form is made from the schema's properties.
        let has_fields = manifest["input_schema"]["properties"]
            .as_object()
            .is_some_and(|properties| !properties.is_empty());
        return if has_fields {
            Ok(())
        } else {
            Err(ServiceError::invalid(
                "input",
                "the agent's input schema has no properties to make a form from; \
                 choose the chat input",
            ))
        };
    }
    let kept = services
        .input_schemas
        .keep(deployment.id, deployment.version_id, &manifest);
    let sample = serde_json::json!({ "message": "Hello" });
    if crate::runs::input::meets(kept.schema.as_ref(), &sample, 20).await {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "input",
            "the agent's input schema does not take {\"message\": \"<text>\"}, which a chat \
             sends; choose the form input",
        ))
    }
}

/// A deployment's embeds.
pub async fn list(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
) -> Result<Vec<Embed>, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = deployments::visible(&mut conn, actor, deployment).await?;
    let rows: Vec<EmbedRecord> = embeds::table
        .filter(embeds::deployment_id.eq(record.id))
        .order((embeds::created_at, embeds::id))
        .select(EmbedRecord::as_select())
        .load(&mut conn)
        .await?;
    Ok(rows
        .iter()
        .map(|row| row.view(&services.public_url))
        .collect())
}

/// One embed of a deployment.
pub async fn get(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
    id: &str,
) -> Result<Embed, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    let mut conn = services.conn().await?;
    let record = deployments::visible(&mut conn, actor, deployment).await?;
    Ok(owned(&mut conn, record.id, id)
        .await?
        .view(&services.public_url))
}

/// Adds an embed to a deployment (members and up; a key needs
/// `deployments:write` and, since visitors start runs through it,
/// `runs:write`); its runs start as the member who made it (or last
/// changed it). The secret for `user` claims is answered this once.
pub async fn create(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    settings: EmbedSettings,
) -> Result<EmbedWithSecret, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    actor.require_scope(Scope::RunsWrite)?;
    let user = actor.require_user()?;
    let settings = checked(settings)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    check_input_fits(services, &mut conn, &record, settings.input).await?;
    let id = Uuid::new_v4();
    let secret = new_secret()?;
    let sealed = sealer(services)?.seal_bytes(&aad(id), secret.as_bytes())?;
    let look = serde_json::to_value(&settings.look)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("look: {error}")))?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            // One add at a time per deployment: the count holds.
            crate::schema::deployments::table
                .find(record.id)
                .for_no_key_update()
                .select(crate::schema::deployments::id)
                .first::<Uuid>(conn)
                .await?;
            let count: i64 = embeds::table
                .filter(embeds::deployment_id.eq(record.id))
                .count()
                .get_result(conn)
                .await?;
            if count >= MAX_PER_DEPLOYMENT {
                return Err(ServiceError::Conflict {
                    field: "embeds",
                    message: format!("a deployment has at most {MAX_PER_DEPLOYMENT} embeds"),
                });
            }
            let row: EmbedRecord = diesel::insert_into(embeds::table)
                .values((
                    embeds::id.eq(id),
                    embeds::deployment_id.eq(record.id),
                    embeds::workspace_id.eq(record.workspace_id),
                    embeds::created_by.eq(user.0),
                    embeds::name.eq(&settings.name),
                    embeds::allowed_origins.eq(&settings.allowed_origins),
                    embeds::development.eq(settings.development),
                    embeds::input.eq(settings.input.as_str()),
                    embeds::look.eq(&look),
                    embeds::per_visitor_minute.eq(settings.per_visitor_minute),
                    embeds::per_visitor_day.eq(settings.per_visitor_day),
                    embeds::per_embed_minute.eq(settings.per_embed_minute),
                    embeds::daily_cap_credits.eq(settings.daily_cap_credits),
                    embeds::secret.eq(&sealed),
                    embeds::enabled.eq(settings.enabled),
                ))
                .returning(EmbedRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::EMBED_CREATED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(EmbedWithSecret {
        embed: row.view(&services.public_url),
        secret,
    })
}

/// Replaces an embed's settings (members and up). Turning it off stops
/// its next message; its runs start as whoever changed it last.
pub async fn replace(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: &str,
    settings: EmbedSettings,
) -> Result<Embed, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    actor.require_scope(Scope::RunsWrite)?;
    let user = actor.require_user()?;
    let settings = checked(settings)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    check_input_fits(services, &mut conn, &record, settings.input).await?;
    let look = serde_json::to_value(&settings.look)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("look: {error}")))?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let row: EmbedRecord = diesel::update(embeds::table.find(row.id))
                .set((
                    embeds::created_by.eq(user.0),
                    embeds::name.eq(&settings.name),
                    embeds::allowed_origins.eq(&settings.allowed_origins),
                    embeds::development.eq(settings.development),
                    embeds::input.eq(settings.input.as_str()),
                    embeds::look.eq(&look),
                    embeds::per_visitor_minute.eq(settings.per_visitor_minute),
                    embeds::per_visitor_day.eq(settings.per_visitor_day),
                    embeds::per_embed_minute.eq(settings.per_embed_minute),
                    embeds::daily_cap_credits.eq(settings.daily_cap_credits),
                    embeds::enabled.eq(settings.enabled),
                    embeds::updated_at.eq(Utc::now()),
                ))
                .returning(EmbedRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::EMBED_CHANGED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(row.view(&services.public_url))
}

/// A new secret for `user` claims (members and up): claims signed with the
/// old one are refused at once.
pub async fn rotate_secret(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: &str,
) -> Result<EmbedWithSecret, ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let user = actor.require_user()?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    let secret = new_secret()?;
    let sealed = sealer(services)?.seal_bytes(&aad(row.id), secret.as_bytes())?;
    let row = conn
        .transaction::<_, ServiceError, _>(async |conn| {
            let row: EmbedRecord = diesel::update(embeds::table.find(row.id))
                .set((
                    embeds::created_by.eq(user.0),
                    embeds::secret.eq(&sealed),
                    embeds::updated_at.eq(Utc::now()),
                ))
                .returning(EmbedRecord::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, actor, meta, action::EMBED_ROTATED, &row).await?;
            Ok(row)
        })
        .await?;
    Ok(EmbedWithSecret {
        embed: row.view(&services.public_url),
        secret,
    })
}

/// Deletes an embed (members and up): its frame and calls answer 404 at
/// once, its conversations go with it; its runs stay (without the embed).
pub async fn delete(
    services: &Services,
    actor: &Actor,
    meta: &RequestMeta,
    deployment: Uuid,
    id: &str,
) -> Result<(), ServiceError> {
    actor.require_scope(Scope::DeploymentsWrite)?;
    let mut conn = services.conn().await?;
    let record = deployments::editable(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    conn.transaction::<_, ServiceError, _>(async |conn| {
        diesel::delete(embeds::table.find(row.id))
            .execute(conn)
            .await?;
        audit(conn, actor, meta, action::EMBED_DELETED, &row).await
    })
    .await
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    views: i64,
    #[diesel(sql_type = BigInt)]
    runs: i64,
    #[diesel(sql_type = BigInt)]
    failures: i64,
    #[diesel(sql_type = BigInt)]
    spent: i64,
}

/// An embed's numbers by UTC day, the last `days` (1 to 90) of them: views,
/// runs, failures and what its runs cost, read from the runs themselves.
pub async fn stats(
    services: &Services,
    actor: &Actor,
    deployment: Uuid,
    id: &str,
    days: Option<i64>,
) -> Result<EmbedStats, ServiceError> {
    deployments::require_deploy_or_run_scope(actor)?;
    let days = days.unwrap_or(30);
    if !(1..=MAX_STATS_DAYS).contains(&days) {
        return Err(ServiceError::invalid(
            "days",
            format!("must be from 1 to {MAX_STATS_DAYS}"),
        ));
    }
    let mut conn = services.conn().await?;
    let record = deployments::visible(&mut conn, actor, deployment).await?;
    let row = owned(&mut conn, record.id, id).await?;
    // A run costs what it was charged (its price when it succeeded) and
    // its model tokens; one still in flight, its price held.
    let rows: Vec<DayRow> = diesel::sql_query(
        "WITH days AS (
             SELECT generate_series((now() AT TIME ZONE 'UTC')::date - ($2 - 1),
                                    (now() AT TIME ZONE 'UTC')::date, interval '1 day')::date AS day
         ),
         ran AS (
             SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS runs,
                    count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'cancelled'))
                        AS failures,
                    coalesce(sum(CASE WHEN status IN ('queued', 'running') THEN price_credits
                                      ELSE charged_credits END + llm_credits), 0)::bigint AS spent
             FROM runs
             WHERE embed_id = $1
               AND created_at >= ((now() AT TIME ZONE 'UTC')::date - ($2 - 1)) AT TIME ZONE 'UTC'
             GROUP BY 1
         )
         SELECT days.day, coalesce(v.views, 0)::bigint AS views, coalesce(ran.runs, 0)::bigint AS runs,
                coalesce(ran.failures, 0)::bigint AS failures, coalesce(ran.spent, 0)::bigint AS spent
         FROM days
         LEFT JOIN embed_views v ON v.embed_id = $1 AND v.day = days.day
         LEFT JOIN ran ON ran.day = days.day
         ORDER BY days.day",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<Integer, _>(i32::try_from(days).unwrap_or(30))
    .load(&mut conn)
    .await?;
    let spent_today = spend::by_embed_today(&mut conn, row.id).await?;
    let days: Vec<EmbedDay> = rows
        .into_iter()
        .map(|row| EmbedDay {
            day: row.day,
            views: row.views,
            runs: row.runs,
            failures: row.failures,
            spent_credits: row.spent,
        })
        .collect();
    Ok(EmbedStats {
        views: days.iter().map(|day| day.views).sum(),
        runs: days.iter().map(|day| day.runs).sum(),
        failures: days.iter().map(|day| day.failures).sum(),
        spent_credits: days.iter().map(|day| day.spent_credits).sum(),
        spent_today,
        days,
    })
}

async fn owned(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
    id: &str,
) -> Result<EmbedRecord, ServiceError> {
    let not_found = || ServiceError::NotFound { what: "embed" };
    let id = parse_public_id(id).ok_or_else(not_found)?;
    embeds::table
        .find(id)
        .filter(embeds::deployment_id.eq(deployment))
        .select(EmbedRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)
}

async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    what: &'static str,
    row: &EmbedRecord,
) -> Result<(), ServiceError> {
    deployments::audit_deployment(
        conn,
        actor,
        meta,
        what,
        types::WorkspaceId(row.workspace_id),
        row.deployment_id,
        serde_json::json!({
            "embed": public_id(row.id),
            "name": row.name,
            "allowed_origins": row.allowed_origins,
            "development": row.development,
            "enabled": row.enabled,
            "daily_cap_credits": row.daily_cap_credits,
        }),
    )
    .await
}
