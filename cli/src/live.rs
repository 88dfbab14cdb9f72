//! The live socket (`/ws`) from a terminal: `deploy` follows a
//! deployment's status until it runs or fails, `logs` prints its events.
//! A dropped link is opened again and the topic resumed with `since` (the
//! last event's `seq`), so no event is lost and none is printed twice.

use std::io::Write;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::{Api, Failure};

/// Tries to open the socket again after a drop, waiting longer each time.
const RECONNECTS: u32 = 8;

/// What to do after an event.
pub enum Next {
    More,
    Stop,
}

/// Follows `topic` from after `since` (0: everything stored; none: from
/// now on), calling `on_event(seq, event)` for each event once, in order,
/// until it says stop.
pub async fn follow(
    api: &Api,
    topic: &str,
    since: Option<i64>,
    mut on_event: impl FnMut(i64, &Value) -> Result<Next, Failure>,
) -> Result<(), Failure> {
    let mut last = since;
    let mut failures = 0;
    loop {
        match follow_once(api, topic, &mut last, &mut on_event).await {
            Ok(()) => return Ok(()),
            Err(Dropped::Refused(failure)) => return Err(failure),
            Err(Dropped::Link(cause)) => {
                failures += 1;
                if failures > RECONNECTS {
                    return Err(Failure {
                        message: format!("the live link to {} keeps dropping: {cause}", api.url),
                        code: 2,
                    });
                }
                tokio::time::sleep(Duration::from_millis(100 * u64::from(failures))).await;
            }
        }
    }
}

enum Dropped {
    /// The server said no (an error frame, a refused upgrade): final.
    Refused(Failure),
    /// The link went away: open it again.
    Link(String),
}

async fn follow_once(
    api: &Api,
    topic: &str,
    last: &mut Option<i64>,
    on_event: &mut impl FnMut(i64, &Value) -> Result<Next, Failure>,
) -> Result<(), Dropped> {
    let url = format!(
        "{}/ws",
        api.url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    );
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| Dropped::Refused(format!("{url}: {error}").into()))?;
    let bearer = format!("Bearer {}", api.key)
        .parse()
        .map_err(|_| Dropped::Refused("the key cannot be sent as a header".into()))?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|error| match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => Dropped::Refused(Failure {
                message: format!(
                    "the server refused the live link ({}); is the key valid?",
                    response.status()
                ),
                code: 1,
            }),
            other => Dropped::Link(other.to_string()),
        })?;
    let subscribe = json!({ "type": "subscribe", "topic": topic, "since": last });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .map_err(|error| Dropped::Link(error.to_string()))?;
    while let Some(message) = socket.next().await {
        let text = match message.map_err(|error| Dropped::Link(error.to_string()))? {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        match frame["type"].as_str() {
            Some("event") if frame["topic"] == topic => {
                let Some(seq) = frame["seq"].as_i64() else {
                    continue;
                };
                // A resumed topic may repeat what was already shown.
                if last.is_some_and(|last| seq <= last) {
                    continue;
                }
                *last = Some(seq);
                match on_event(seq, &frame["event"]).map_err(Dropped::Refused)? {
                    Next::More => {}
                    Next::Stop => return Ok(()),
                }
            }
            Some("error") => {
                return Err(Dropped::Refused(Failure {
                    message: frame["message"]
                        .as_str()
                        .unwrap_or("the live link refused the topic")
                        .to_owned(),
                    code: 1,
                }));
            }
            _ => {}
        }
    }
    Err(Dropped::Link("the server closed the live link".to_owned()))
}

/// One event of a deployment's topic as a line of text.
pub fn line(event: &Value) -> String {
    let at = event["at"].as_str().unwrap_or_default();
    let at = crate::style::dim(at.get(11..23).unwrap_or(at));
    match event["kind"].as_str() {
        Some("status") => {
            let reason = event["reason"]
                .as_str()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default();
            format!(
                "{at} deployment {} (version {}){reason}",
                crate::style::status(event["status"].as_str().unwrap_or("?")),
                event["version"].as_str().unwrap_or("?")
            )
        }
        Some("log") => {
            let run = event["run"]
                .as_str()
                .map(|run| format!(" run {}", run.get(..8).unwrap_or(run)))
                .unwrap_or_default();
            let level = event["level"].as_str().unwrap_or("info");
            let padded = format!("{level:<5}");
            let level = match level {
                "error" => crate::style::red(&padded),
                "warn" => crate::style::yellow(&padded),
                _ => crate::style::dim(&padded),
            };
            format!(
                "{at} {level}{run} {}",
                event["message"].as_str().unwrap_or_default()
            )
        }
        Some("run") => {
            let error = event["error"]
                .as_str()
                .map(|error| format!(": {error}"))
                .unwrap_or_default();
            format!(
                "{at} run {} {}{error}",
                event["run"].as_str().unwrap_or("?"),
                crate::style::status(event["status"].as_str().unwrap_or("?"))
            )
        }
        Some("deleted") => format!("{at} deployment deleted"),
        _ => format!("{at} {event}"),
    }
}

/// Prints each event as a line (or as JSON with its `seq`).
pub fn print(out: &mut dyn Write, json_out: bool, seq: i64, event: &Value) -> std::io::Result<()> {
    if json_out {
        writeln!(out, "{}", json!({ "seq": seq, "event": event }))
    } else {
        writeln!(out, "{}", line(event))
    }
}
