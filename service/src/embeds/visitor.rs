//! The visitor's side of an embed. The frame (`/embed/<id>`, on this
//! server's origin) opens a session for the page it is on; the session's
//! token (sealed with the secrets key: which embed, session, visitor and
//! page, until when) is what its later calls and its live socket carry.
//!
//! Every call checks, again: the request's `Origin` is this server's (the
//! frame) or an allowed site's (a site calling directly), the page the
//! launcher reported is still allowed, and the embed is on. A message then
//! counts against the limits, is stored, and starts a run (`trigger =
//! embed`) as the member who set the embed up, charged to the deployment's
//! workspace within the embed's daily cap.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::limits::{self, Check, Span};
use super::{EmbedRecord, aad, origins, public_id};
use crate::actor::{Actor, RequestMeta};
use crate::runs::conversation::{self, Turn};
use crate::schema::{
    agent_versions, deployments, embed_messages, embed_sessions, embed_views, embeds,
};
use crate::{ServiceError, Services, spend};
use types::WorkspaceId;
use types::deploy::RunStatus;
use types::embed::{
    Conversation, EmbedInput, EmbedMessage, MessageRole, MessageSent, OpenSession, SendMessage,
    VisitorEmbed, VisitorLook, VisitorSession,
};

/// How long a visitor token lasts; the frame opens a new session after.
const TOKEN_HOURS: i64 = 1;
/// A visitor's session is kept this long after its last message.
const SESSION_DAYS: i64 = 30;
/// Characters one chat message may have.
const MAX_MESSAGE_CHARS: usize = 4_000;
/// Bytes of JSON one form submission may have.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Turns a conversation read answers (the newest).
const SHOWN_TURNS: i64 = 50;
/// The longest a signed `user` claim may live.
const MAX_CLAIM_DAYS: i64 = 7;
const TOKEN_PREFIX: &str = "evt_";
const TOKEN_AAD: &[u8] = b"embed-visitor-token";

/// What a visitor token says.
#[derive(Serialize, Deserialize)]
struct Claims {
    /// The embed.
    e: Uuid,
    /// The session (conversation).
    s: Uuid,
    /// The visitor's id.
    v: String,
    /// The site's user, from a verified claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<String>,
    /// The page's origin.
    o: String,
    /// Expiry, Unix seconds.
    x: i64,
}

/// A visitor, as a token established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub embed: Uuid,
    pub session: Uuid,
    pub visitor: String,
    pub site_user: Option<String>,
    pub page_origin: String,
    pub expires_at: DateTime<Utc>,
}

/// What the frame page is served with.
pub struct FrameView {
    /// The `frame-ancestors` sources: the allowed sites and this server.
    pub frame_ancestors: String,
}

/// The frame of embed `id`: 404 for no such embed, 403 when it is off.
pub async fn frame(services: &Services, id: &str) -> Result<FrameView, ServiceError> {
    let mut conn = services.conn().await?;
    let embed = live_embed(&mut conn, id).await?;
    Ok(FrameView {
        frame_ancestors: origins::frame_ancestors(&embed.allowed()),
    })
}

/// This server's own origin (the frame's), from its public URL.
fn own_origin(public_url: &str) -> String {
    match public_url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => public_url.to_owned(),
    }
}

/// The embed `id` names, if it is on.
async fn live_embed(conn: &mut AsyncPgConnection, id: &str) -> Result<EmbedRecord, ServiceError> {
    let not_found = || ServiceError::NotFound { what: "embed" };
    let id = super::parse_public_id(id).ok_or_else(not_found)?;
    let embed: EmbedRecord = embeds::table
        .find(id)
        .select(EmbedRecord::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    if !embed.enabled {
        return Err(ServiceError::Forbidden(
            "this assistant is turned off".to_owned(),
        ));
    }
    Ok(embed)
}

/// The request's `Origin` must be this server's (the frame) or a site the
/// embed allows. A change without one is refused too; a read may lack it
/// (browsers send none on a same-origin GET: the frame reading its
/// conversation), the token being its credential.
fn check_request_origin(
    services: &Services,
    embed: &EmbedRecord,
    origin: Option<&str>,
    read: bool,
) -> Result<(), ServiceError> {
    let allowed = embed.allowed();
    match origin {
        Some(origin)
            if origin == own_origin(&services.public_url)
                || origins::admitted(&allowed, origin) =>
        {
            Ok(())
        }
        Some(_) => Err(ServiceError::Forbidden(
            "this embed is not allowed on the site this request comes from (Origin)".to_owned(),
        )),
        None if read => Ok(()),
        None => Err(ServiceError::Forbidden(
            "an embed's calls come from a browser page: the Origin header is missing".to_owned(),
        )),
    }
}

/// The page must be a site the embed allows, or this server's own (the
/// owner's preview).
fn check_page_origin(
    services: &Services,
    embed: &EmbedRecord,
    page: &str,
) -> Result<(), ServiceError> {
    if page == own_origin(&services.public_url) || origins::admitted(&embed.allowed(), page) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "this embed is not allowed on {page}: add it to the embed's allowed origins"
        )))
    }
}

fn check_visitor(visitor: &str) -> Result<(), ServiceError> {
    if (16..=64).contains(&visitor.len())
        && visitor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "visitor",
            "must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -",
        ))
    }
}

/// Checks a site's signed `user` claim: `<user>.<expiry>.<hex HMAC-SHA256
/// of "<user>.<expiry>" with the embed's secret>`; the user it names.
fn verify_claim(
    services: &Services,
    embed: &EmbedRecord,
    claim: &str,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    use hmac::{Hmac, KeyInit as _, Mac as _};
    let refused = |why: &str| ServiceError::Forbidden(format!("the user claim {why}"));
    let mut parts = claim.rsplitn(3, '.');
    let (Some(signature), Some(expiry), Some(user)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(refused("must be <user>.<expiry>.<signature>"));
    };
    if user.is_empty() || user.len() > 128 || user.chars().any(char::is_control) {
        return Err(refused("names no user (1 to 128 characters)"));
    }
    let expiry: i64 = expiry
        .parse()
        .map_err(|_| refused("has no expiry (Unix seconds)"))?;
    if expiry <= now.timestamp() {
        return Err(refused("has expired"));
    }
    if expiry > (now + TimeDelta::days(MAX_CLAIM_DAYS)).timestamp() {
        return Err(refused(&format!(
            "must expire within {MAX_CLAIM_DAYS} days"
        )));
    }
    let secret = super::sealer(services)?.open_bytes(&aad(embed.id), &embed.secret)?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret)
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("an HMAC key was refused")))?;
    mac.update(format!("{user}.{expiry}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let signature = signature.to_ascii_lowercase();
    if signature.len() == expected.len()
        && bool::from(signature.as_bytes().ct_eq(expected.as_bytes()))
    {
        Ok(user.to_owned())
    } else {
        Err(refused("does not verify with the embed's secret"))
    }
}

fn seal_token(services: &Services, claims: &Claims) -> Result<String, ServiceError> {
    use base64::Engine as _;
    let json = serde_json::to_vec(claims)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("token: {error}")))?;
    let sealed = super::sealer(services)?.seal_bytes(TOKEN_AAD, &json)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
    ))
}

/// The visitor a token names: 401 for one that does not open or has
/// expired (the frame then opens a new session).
pub fn visitor(services: &Services, token: &str) -> Result<Visitor, ServiceError> {
    use base64::Engine as _;
    let sealed = token
        .strip_prefix(TOKEN_PREFIX)
        .filter(|rest| rest.len() <= 2048)
        .and_then(|rest| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(rest)
                .ok()
        })
        .ok_or(ServiceError::Unauthenticated)?;
    let opened = super::sealer(services)?
        .open_bytes(TOKEN_AAD, &sealed)
        .map_err(|_| ServiceError::Unauthenticated)?;
    let claims: Claims =
        serde_json::from_slice(&opened).map_err(|_| ServiceError::Unauthenticated)?;
    let expires_at =
        DateTime::<Utc>::from_timestamp(claims.x, 0).ok_or(ServiceError::Unauthenticated)?;
    if expires_at <= Utc::now() {
        return Err(ServiceError::Unauthenticated);
    }
    Ok(Visitor {
        embed: claims.e,
        session: claims.s,
        visitor: claims.v,
        site_user: claims.u,
        page_origin: claims.o,
        expires_at,
    })
}

/// Opens a visitor's session on embed `id` for the page it is on: its
/// token, what to show, and the conversation so far. Counts a view.
pub async fn open_session(
    services: &Services,
    id: &str,
    origin: Option<&str>,
    meta: &RequestMeta,
    request: OpenSession,
) -> Result<VisitorSession, ServiceError> {
    check_visitor(&request.visitor)?;
    let page = request
        .page_origin
        .trim()
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let mut conn = services.conn().await?;
    let embed = live_embed(&mut conn, id).await?;
    check_request_origin(services, &embed, origin, false)?;
    check_page_origin(services, &embed, &page)?;
    let now = Utc::now();
    let site_user = request
        .user
        .as_deref()
        .filter(|claim| !claim.is_empty())
        .map(|claim| verify_claim(services, &embed, claim, now))
        .transpose()?;
    // Sessions an address opens a minute (an unknown address is no
    // bucket: it would put every such visitor in one).
    if !meta.ip.is_empty() {
        limits::take(
            &mut conn,
            embed.id,
            services.clock.now(),
            &[Check {
                subject: format!("s{}", limits::address_subject(&meta.ip)),
                span: Span::Minute,
                limit: limits::SESSIONS_PER_ADDRESS_MINUTE,
                says: "too many visits from this address; try again in a minute",
            }],
        )
        .await?;
    }
    // The visitor's conversation (for this site user), unless it went
    // quiet long ago.
    let session: Option<Uuid> = embed_sessions::table
        .filter(embed_sessions::embed_id.eq(embed.id))
        .filter(embed_sessions::visitor.eq(&request.visitor))
        .filter(embed_sessions::site_user.is_not_distinct_from(&site_user))
        .filter(embed_sessions::updated_at.gt(now - TimeDelta::days(SESSION_DAYS)))
        .order(embed_sessions::updated_at.desc())
        .select(embed_sessions::id)
        .first(&mut conn)
        .await
        .optional()?;
    // A new conversation is stored with its first message: opening
    // sessions stores nothing but a view.
    let session = session.unwrap_or_else(Uuid::new_v4);
    diesel::insert_into(embed_views::table)
        .values((
            embed_views::embed_id.eq(embed.id),
            embed_views::day.eq(now.date_naive()),
            embed_views::views.eq(1),
        ))
        .on_conflict((embed_views::embed_id, embed_views::day))
        .do_update()
        .set(embed_views::views.eq(embed_views::views + 1))
        .execute(&mut conn)
        .await?;
    let expires_at = now + TimeDelta::hours(TOKEN_HOURS);
    let token = seal_token(
        services,
        &Claims {
            e: embed.id,
            s: session,
            v: request.visitor,
            u: site_user,
            o: page,
            x: expires_at.timestamp(),
        },
    )?;
    let look = embed.look();
    let input = EmbedInput::parse(&embed.input);
    let input_schema = match input {
        EmbedInput::Chat => None,
        EmbedInput::Form => input_schema(&mut conn, embed.deployment_id).await?,
    };
    let turns = conversation::turns(&mut conn, session, None, SHOWN_TURNS).await?;
    Ok(VisitorSession {
        token,
        expires_at,
        embed: VisitorEmbed {
            title: look.title.clone(),
            greeting: look.greeting.clone(),
            look: VisitorLook {
                mode: look.mode,
                position: look.position,
                color: look.color,
                theme: look.theme,
            },
            input,
            input_schema,
        },
        messages: messages(&turns),
    })
}

/// The input schema of the version the deployment runs.
async fn input_schema(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<Option<serde_json::Value>, ServiceError> {
    let manifest: serde_json::Value = deployments::table
        .inner_join(agent_versions::table.on(agent_versions::id.eq(deployments::version_id)))
        .filter(deployments::id.eq(deployment))
        .select(agent_versions::manifest)
        .first(conn)
        .await?;
    Ok(manifest
        .get("input_schema")
        .filter(|schema| schema.is_object())
        .cloned())
}

/// The visitor a token names, on embed `id` (the token's), which is on and
/// still allows the page, called from an allowed place.
async fn admitted(
    services: &Services,
    conn: &mut AsyncPgConnection,
    id: &str,
    token: &str,
    origin: Option<&str>,
    read: bool,
) -> Result<(Visitor, EmbedRecord), ServiceError> {
    let visitor = visitor(services, token)?;
    if super::parse_public_id(id) != Some(visitor.embed) {
        return Err(ServiceError::Forbidden(
            "this visitor token is for another embed".to_owned(),
        ));
    }
    let embed = live_embed(conn, &public_id(visitor.embed)).await?;
    check_request_origin(services, &embed, origin, read)?;
    check_page_origin(services, &embed, &visitor.page_origin)?;
    Ok((visitor, embed))
}

/// What a message becomes: the chat's text, or the form's input (and the
/// text the conversation shows for it).
fn message_input(
    embed: &EmbedRecord,
    message: SendMessage,
) -> Result<(String, serde_json::Value), ServiceError> {
    match (EmbedInput::parse(&embed.input), message.text, message.input) {
        (EmbedInput::Chat, Some(text), None) => {
            let text = text.trim().to_owned();
            if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS || text.contains('\0') {
                return Err(ServiceError::invalid(
                    "text",
                    format!("must be 1 to {MAX_MESSAGE_CHARS} characters"),
                ));
            }
            let input = serde_json::json!({ "message": text });
            Ok((text, input))
        }
        (EmbedInput::Form, None, Some(input)) => {
            let shown = serde_json::to_string(&input).unwrap_or_default();
            if !input.is_object() || shown.len() > MAX_FORM_BYTES || shown.contains("\\u0000") {
                return Err(ServiceError::invalid(
                    "input",
                    format!("must be a JSON object of at most {MAX_FORM_BYTES} bytes"),
                ));
            }
            Ok((shown.chars().take(MAX_MESSAGE_CHARS).collect(), input))
        }
        (EmbedInput::Chat, _, _) => Err(ServiceError::invalid(
            "text",
            "a chat takes the message's text (and no input)",
        )),
        (EmbedInput::Form, _, _) => Err(ServiceError::invalid(
            "input",
            "a form takes its input object (and no text)",
        )),
    }
}

/// Sends a visitor's message: within its limits and the daily cap, stored,
/// and answered by a run (queued; the visitor follows `run:<id>`).
pub async fn send(
    services: &Services,
    id: &str,
    token: &str,
    origin: Option<&str>,
    meta: &RequestMeta,
    message: SendMessage,
) -> Result<MessageSent, ServiceError> {
    let mut conn = services.conn().await?;
    let (visitor, embed) = admitted(services, &mut conn, id, token, origin, false).await?;
    let (text, input) = message_input(&embed, message)?;
    // An input the agent's schema refuses is refused here, before it
    // counts or costs anything.
    let kept = match services.input_schemas.get(embed.deployment_id) {
        Some(kept) => kept,
        None => {
            let (version, manifest): (Uuid, serde_json::Value) = deployments::table
                .inner_join(
                    agent_versions::table.on(agent_versions::id.eq(deployments::version_id)),
                )
                .filter(deployments::id.eq(embed.deployment_id))
                .select((deployments::version_id, agent_versions::manifest))
                .first(&mut conn)
                .await?;
            services
                .input_schemas
                .keep(embed.deployment_id, version, &manifest)
        }
    };
    let size = serde_json::to_string(&input).map_or(usize::MAX, |text| text.len());
    crate::runs::input::check(kept.schema.as_ref(), &input, size).await?;
    if let Some(cap) = embed.daily_cap_credits
        && spend::by_embed_today(&mut conn, embed.id).await? >= cap
    {
        return Err(budget_spent());
    }
    let mut checks = vec![
        Check {
            subject: format!("v:{}", visitor.visitor),
            span: Span::Minute,
            limit: embed.per_visitor_minute,
            says: "you are sending messages too quickly; wait a minute and try again",
        },
        Check {
            subject: format!("v:{}", visitor.visitor),
            span: Span::Day,
            limit: embed.per_visitor_day,
            says: "you have sent as many messages as this assistant takes in a day; \
                   come back tomorrow",
        },
        Check {
            subject: "e".to_owned(),
            span: Span::Minute,
            limit: embed.per_embed_minute,
            says: "this assistant is busy right now; try again in a minute",
        },
    ];
    // An address this server does not know (no peer address) is no
    // bucket: it would put every such visitor in one.
    if !meta.ip.is_empty() {
        let address = limits::address_subject(&meta.ip);
        checks.extend([
            Check {
                subject: address.clone(),
                span: Span::Minute,
                limit: embed
                    .per_visitor_minute
                    .saturating_mul(limits::VISITORS_PER_ADDRESS),
                says: "too many messages from this network; wait a minute and try again",
            },
            Check {
                subject: address,
                span: Span::Day,
                limit: embed
                    .per_visitor_day
                    .saturating_mul(limits::VISITORS_PER_ADDRESS),
                says: "too many messages from this network today; come back tomorrow",
            },
        ]);
    }
    limits::take(&mut conn, embed.id, services.clock.now(), &checks).await?;
    // The conversation is stored with its first message.
    diesel::insert_into(embed_sessions::table)
        .values((
            embed_sessions::id.eq(visitor.session),
            embed_sessions::embed_id.eq(embed.id),
            embed_sessions::visitor.eq(&visitor.visitor),
            embed_sessions::site_user.eq(&visitor.site_user),
        ))
        .on_conflict(embed_sessions::id)
        .do_nothing()
        .execute(&mut conn)
        .await?;
    let message_id = Uuid::new_v4();
    let at: DateTime<Utc> = diesel::insert_into(embed_messages::table)
        .values((
            embed_messages::id.eq(message_id),
            embed_messages::session_id.eq(visitor.session),
            embed_messages::text.eq(&text),
        ))
        .returning(embed_messages::created_at)
        .get_result(&mut conn)
        .await
        .map_err(|error| match error {
            // The session was cleared away (purged) under the token.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => ServiceError::Unauthenticated,
            other => other.into(),
        })?;
    let actor = Actor::Trigger {
        user_id: types::UserId(embed.created_by),
        workspace_id: WorkspaceId(embed.workspace_id),
    };
    let details = serde_json::json!({
        "embed": public_id(embed.id),
        "name": embed.name,
        "visitor": pseudonym(embed.id, &visitor.visitor),
        "user": visitor.site_user,
        "page_origin": visitor.page_origin,
        "session": visitor.session,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    // One connection at a time: the start takes its own.
    drop(conn);
    let started = crate::runs::start_embedded(
        services,
        &actor,
        embed.deployment_id,
        input,
        details,
        embed.id,
    )
    .await;
    let mut conn = services.conn().await?;
    let started = match started {
        Ok(started) => started,
        // The attempt still counts against the limits: a visitor cannot
        // make failing starts for free.
        Err(error) => {
            diesel::delete(embed_messages::table.find(message_id))
                .execute(&mut conn)
                .await?;
            return Err(for_visitor(error));
        }
    };
    let run = started.run.id;
    diesel::update(embed_messages::table.find(message_id))
        .set(embed_messages::run_id.eq(run))
        .execute(&mut conn)
        .await?;
    diesel::update(embed_sessions::table.find(visitor.session))
        .set(embed_sessions::updated_at.eq(Utc::now()))
        .execute(&mut conn)
        .await?;
    Ok(MessageSent {
        run,
        messages: vec![EmbedMessage {
            id: format!("m_{}", message_id.simple()),
            role: MessageRole::User,
            text,
            at,
            run: Some(run),
            status: Some(started.run.status),
            error: None,
        }],
    })
}

/// The visitor as the agent and the owner's run records see it: a hash of
/// the embed and the visitor's id, never the id itself (which is what
/// opens its conversation).
fn pseudonym(embed: Uuid, visitor: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("embed-visitor:{embed}:{visitor}").as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn budget_spent() -> ServiceError {
    ServiceError::SpendCapReached {
        field: "embed",
        message: "this assistant has used up its budget for today; please try again later"
            .to_owned(),
    }
}

/// What a visitor is told when a run cannot start: never the owner's
/// wallet, caps or members.
fn for_visitor(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::PaymentRequired(_) | ServiceError::SpendCapReached { .. } => budget_spent(),
        ServiceError::Conflict { .. }
        | ServiceError::Forbidden(_)
        | ServiceError::NotFound { .. }
        | ServiceError::Unauthenticated => ServiceError::Conflict {
            field: "embed",
            message: "this assistant is not available right now; please try again later".to_owned(),
        },
        ServiceError::InvalidInput(violations) => ServiceError::InvalidInput(violations),
        other => other,
    }
}

/// The visitor's conversation: the newest `SHOWN_TURNS` messages and their
/// answers, oldest first.
pub async fn conversation(
    services: &Services,
    id: &str,
    token: &str,
    origin: Option<&str>,
) -> Result<Conversation, ServiceError> {
    let mut conn = services.conn().await?;
    let (visitor, _) = admitted(services, &mut conn, id, token, origin, true).await?;
    let turns = conversation::turns(&mut conn, visitor.session, None, SHOWN_TURNS).await?;
    Ok(Conversation {
        messages: messages(&turns),
    })
}

/// Clears the visitor's conversation (its runs stay, as the owner's
/// records).
pub async fn clear(
    services: &Services,
    id: &str,
    token: &str,
    origin: Option<&str>,
) -> Result<(), ServiceError> {
    let mut conn = services.conn().await?;
    let (visitor, _) = admitted(services, &mut conn, id, token, origin, false).await?;
    diesel::delete(embed_messages::table.filter(embed_messages::session_id.eq(visitor.session)))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Turns as the visitor sees them: each message, then its answer once its
/// run finished.
fn messages(turns: &[Turn]) -> Vec<EmbedMessage> {
    let mut shown = Vec::with_capacity(turns.len() * 2);
    for turn in turns {
        let status = turn.status.as_deref().and_then(RunStatus::parse);
        shown.push(EmbedMessage {
            id: format!("m_{}", turn.id.simple()),
            role: MessageRole::User,
            text: turn.text.clone(),
            at: turn.at,
            run: turn.run,
            status,
            error: None,
        });
        let Some(status) = status.filter(|status| status.is_finished()) else {
            continue;
        };
        let (text, error) = if status == RunStatus::Succeeded {
            (conversation::answer_text(turn.output.as_ref()), None)
        } else {
            let code = turn
                .error
                .as_ref()
                .and_then(|error| error.get("code"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or(status.as_str());
            (
                String::new(),
                Some(format!(
                    "The assistant could not answer this time ({code})."
                )),
            )
        };
        shown.push(EmbedMessage {
            id: format!("a_{}", turn.id.simple()),
            role: MessageRole::Assistant,
            text,
            at: turn.finished_at.unwrap_or(turn.at),
            run: turn.run,
            status: Some(status),
            error,
        });
    }
    shown
}

/// Purges conversations quiet for `SESSION_DAYS` and old limit windows.
pub async fn purge(services: &Services) -> Result<(usize, usize), ServiceError> {
    let mut conn = services.conn().await?;
    let sessions = diesel::delete(
        embed_sessions::table
            .filter(embed_sessions::updated_at.lt(Utc::now() - TimeDelta::days(SESSION_DAYS))),
    )
    .execute(&mut conn)
    .await?;
    let windows = limits::purge(&mut conn).await?;
    Ok((sessions, windows))
}

#[cfg(test)]
mod tests {
    use super::own_origin;

    #[test]
    fn the_own_origin_is_the_public_urls() {
        assert_eq!(
            own_origin("https://Agentdeck.example/"),
            "https://agentdeck.example"
        );
        assert_eq!(own_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(own_origin("https://a.example/base"), "https://a.example");
    }
}
