//! The conversation a run answers in: a chat embed's visitor session (and,
//! later, a channel's thread). What the visitor sent is stored with its run
//! (`embed_messages`); the answer is that run's output, read with it, so
//! nothing is written twice. A run is handed the earlier messages as
//! `ctx.conversation`, bounded.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ServiceError;
use crate::schema::{embed_messages, runs};

/// Earlier messages of the visitor handed to a run, at most (each with its
/// answer).
pub const HISTORY_TURNS: i64 = 20;
/// Characters of history handed to a run, at most: the oldest go first.
/// (An answer over 64 KiB of JSON is left out of a conversation.)
pub const HISTORY_CHARS: usize = 16_000;

/// The text of an answer: a string output, or the first of the output's
/// `answer`, `reply`, `text`, `message` or `output` that is a string, else
/// the output as JSON.
pub fn answer_text(output: Option<&serde_json::Value>) -> String {
    match output {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(value) => ["answer", "reply", "text", "message", "output"]
            .iter()
            .find_map(|key| value.get(key).and_then(serde_json::Value::as_str))
            .map_or_else(
                || serde_json::to_string_pretty(value).unwrap_or_default(),
                str::to_owned,
            ),
    }
}

/// One message the visitor sent, with its run's state.
#[derive(Queryable, Clone, Debug)]
pub struct Turn {
    pub id: Uuid,
    pub text: String,
    pub at: DateTime<Utc>,
    pub run: Option<Uuid>,
    pub status: Option<String>,
    pub output: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The turns of `session` before `before` (all of them when `None`),
/// newest last, at most `limit`.
pub async fn turns(
    conn: &mut AsyncPgConnection,
    session: Uuid,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Turn>, ServiceError> {
    let mut query = embed_messages::table
        .left_join(runs::table)
        .filter(embed_messages::session_id.eq(session))
        .select((
            embed_messages::id,
            embed_messages::text,
            embed_messages::created_at,
            embed_messages::run_id,
            runs::status.nullable(),
            // An answer too long for a chat is not read whole.
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>(
                "CASE WHEN octet_length(runs.output::text) <= 65536 THEN runs.output END",
            ),
            runs::error.nullable(),
            runs::finished_at.nullable(),
        ))
        .order((embed_messages::created_at.desc(), embed_messages::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(embed_messages::created_at.lt(before));
    }
    let mut turns: Vec<Turn> = query.load(conn).await?;
    turns.reverse();
    Ok(turns)
}

/// What `run` is handed as `ctx.conversation`: the visitor's earlier
/// messages and the answers that came, oldest first, within
/// `HISTORY_TURNS` and `HISTORY_CHARS`.
pub async fn history(
    conn: &mut AsyncPgConnection,
    run: Uuid,
) -> Result<Vec<runtime::ConversationMessage>, ServiceError> {
    // The run's details name its conversation and when its message came
    // (the message learns its run only after the run is queued).
    let details: Option<serde_json::Value> = runs::table
        .find(run)
        .select(runs::trigger_details)
        .first(conn)
        .await
        .optional()?
        .flatten();
    let session = details
        .as_ref()
        .and_then(|details| details["session"].as_str())
        .and_then(|text| Uuid::try_parse(text).ok());
    let at = details
        .as_ref()
        .and_then(|details| details["at"].as_str())
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc));
    let (Some(session), Some(at)) = (session, at) else {
        return Ok(Vec::new());
    };
    let turns = turns(conn, session, Some(at), HISTORY_TURNS).await?;
    let mut messages = Vec::new();
    let mut left = HISTORY_CHARS;
    // Newest first, so that what the budget drops is the oldest.
    for turn in turns.iter().rev() {
        if turn.status.as_deref() == Some("succeeded") {
            let text = answer_text(turn.output.as_ref());
            if text.chars().count() > left {
                break;
            }
            left -= text.chars().count();
            messages.push(runtime::ConversationMessage {
                role: "assistant".to_owned(),
                text,
                at: stamp(turn.finished_at.unwrap_or(turn.at)),
            });
        }
        if turn.text.chars().count() > left {
            break;
        }
        left -= turn.text.chars().count();
        messages.push(runtime::ConversationMessage {
            role: "user".to_owned(),
            text: turn.text.clone(),
            at: stamp(turn.at),
        });
    }
    messages.reverse();
    Ok(messages)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::answer_text;
    use serde_json::json;

    #[test]
    fn an_answer_is_the_output_text() {
        assert_eq!(answer_text(Some(&json!("hi"))), "hi");
        assert_eq!(
            answer_text(Some(&json!({"answer": "yes", "text": "no"}))),
            "yes"
        );
        assert_eq!(answer_text(Some(&json!({"reply": "ok"}))), "ok");
        assert_eq!(answer_text(Some(&json!({"n": 1}))), "{\n  \"n\": 1\n}");
        assert_eq!(answer_text(None), "");
    }
}
