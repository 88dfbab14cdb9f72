//! One WebSocket connection: reads client frames, follows the topics it
//! subscribes to (each in a task of its own), and drops the client when it
//! is too slow to keep up.
//!
//! The socket's sending half is shared ([`Writer`]): a topic's task writes
//! its frames itself, so an event reaches a socket with one task woken (the
//! topic's) and one write, and the frame's bytes are the ones the hub
//! serialised once for every socket.
//!
//! A stored topic is followed gaplessly: subscribe to the hub first, then
//! read from the database everything after `since` (or from now on), then
//! pass live events on, skipping any already sent. A live event that is not
//! the next one (a notification was lost) or a resync in the topic's channel
//! (the listener reconnected) makes the task read the database again. A client more than the topic's channel
//! behind is disconnected and resumes with `since`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures::stream::SplitSink;
use futures::{FutureExt as _, SinkExt, StreamExt};
use service::auth::Actor;
use service::{ServiceError, Services, events};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{Mutex, MutexGuard, watch};
use tokio::task::{AbortHandle, JoinSet};
use types::live::{ClientFrame, SYSTEM_TOPIC, ServerFrame};
use types::topic::{Topic, TopicRequest};

use super::hub::{ClientGuard, Delivery, Hub, event_frame};

/// Largest frame a client may send.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// What a socket reads from its client at a time. Clients send small
/// frames (subscribe, ping), and the WebSocket library zeroes its whole
/// read buffer before each read and keeps it for the socket's life: its
/// 128 KiB default costs a 128 KiB `memset` per read and 128 KiB of
/// memory per open socket. A larger frame still arrives whole (the buffer
/// grows to it, up to `MAX_FRAME_BYTES`).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// A client that does not take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Topics one connection may follow at once.
const MAX_TOPICS: usize = 64;
/// Subscribe frames a connection may send in a burst, and how fast that
/// allowance comes back (each costs queries, and `since` a replay).
const SUBSCRIBE_BURST: f64 = 30.0;
const SUBSCRIBES_PER_SECOND: f64 = 1.0;
/// Events one subscribe replays at most; a `since` further back starts
/// here, with a `history_gone` warning (read the state, follow from here).
const MAX_REPLAY: i64 = 5_000;

/// Takes over an upgraded connection for `actor`, counted by `guard`
/// (`handshake::upgrade` let it in): frames of at most `MAX_FRAME_BYTES`.
pub(super) fn accept(
    ws: WebSocketUpgrade,
    hub: Hub,
    services: Services,
    actor: Actor,
    guard: ClientGuard,
) -> Response {
    let connection = Connection {
        hub,
        services,
        actor,
        _client: guard,
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| connection.serve(socket))
}

/// Why a topic's task ended early.
enum Ended {
    /// The client fell too far behind.
    TooSlow,
    /// The client took no frame within `SEND_TIMEOUT`.
    Stalled,
    /// The socket is gone, the topic was stopped, or the task reported an
    /// error frame already.
    Quietly,
}

/// The socket's sending half, shared by the connection and its topics'
/// tasks. A frame is written at once when the socket's buffer has room (as
/// most are); a send that has to wait holds the others back at most
/// `SEND_TIMEOUT`, after which the client counts as gone and every later
/// send fails at once.
struct Writer {
    sink: Mutex<SplitSink<WebSocket, Message>>,
    broken: AtomicBool,
}

/// Why a frame was not sent.
enum Unsent {
    /// The socket failed or closed.
    Gone,
    /// The client took no frame within `SEND_TIMEOUT`.
    Stalled,
    /// Its topic was stopped (unsubscribed, subscribed again, or its access
    /// ended): the frame is dropped.
    Stopped,
}

impl Unsent {
    fn ended(self) -> Ended {
        match self {
            Unsent::Stalled => Ended::Stalled,
            Unsent::Gone | Unsent::Stopped => Ended::Quietly,
        }
    }
}

impl Writer {
    fn new(sink: SplitSink<WebSocket, Message>) -> Self {
        Self {
            sink: Mutex::new(sink),
            broken: AtomicBool::new(false),
        }
    }

    async fn send(&self, frame: Utf8Bytes) -> Result<(), Unsent> {
        self.write(Message::Text(frame), None).await
    }

    /// Sends a frame of the topic `stopped` belongs to, unless it was
    /// stopped: checked with the socket held, so no frame of a topic goes
    /// after the one that ends it.
    async fn send_for(&self, stopped: &AtomicBool, frame: Utf8Bytes) -> Result<(), Unsent> {
        self.write(Message::Text(frame), Some(stopped)).await
    }

    /// The close frame, if the socket still takes frames.
    async fn close(&self, code: u16, reason: &'static str) {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = self.write(close, None).await;
    }

    async fn write(&self, message: Message, stopped: Option<&AtomicBool>) -> Result<(), Unsent> {
        let mut sink = self.sink.lock().await;
        self.write_held(&mut sink, message, stopped).await
    }

    /// The socket, held: nothing else is sent until it is let go.
    async fn hold(&self) -> MutexGuard<'_, SplitSink<WebSocket, Message>> {
        self.sink.lock().await
    }

    async fn write_held(
        &self,
        sink: &mut SplitSink<WebSocket, Message>,
        message: Message,
        stopped: Option<&AtomicBool>,
    ) -> Result<(), Unsent> {
        if stopped.is_some_and(|stopped| stopped.load(Ordering::Acquire)) {
            return Err(Unsent::Stopped);
        }
        if self.broken.load(Ordering::Relaxed) {
            return Err(Unsent::Gone);
        }
        // Most sends complete at once (the socket's buffer has room): a
        // timer only for one that has to wait.
        let send = sink.send(message);
        tokio::pin!(send);
        let sent = match send.as_mut().now_or_never() {
            Some(sent) => Ok(sent),
            None => tokio::time::timeout(SEND_TIMEOUT, send).await,
        };
        let unsent = match sent {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(_)) => Unsent::Gone,
            Err(_) => Unsent::Stalled,
        };
        self.broken.store(true, Ordering::Relaxed);
        Err(unsent)
    }
}

/// A topic a connection follows: its task, and the flag that stops its
/// frames at once (aborting the task takes effect at its next await).
struct Followed {
    task: AbortHandle,
    stopped: Arc<AtomicBool>,
}

impl Followed {
    fn stop(self) {
        self.stopped.store(true, Ordering::Release);
        self.task.abort();
    }
}

enum Step {
    Send(Utf8Bytes),
    Close(u16, &'static str),
    Stop,
    Nothing,
}

struct Connection {
    hub: Hub,
    services: Services,
    actor: Actor,
    /// Counts this socket against its user's and address's caps.
    _client: ClientGuard,
}

/// A connection's allowance of subscribe frames: a burst, refilled over
/// time.
struct Allowance {
    tokens: f64,
    at: tokio::time::Instant,
}

impl Allowance {
    fn new() -> Self {
        Self {
            tokens: SUBSCRIBE_BURST,
            at: tokio::time::Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * SUBSCRIBES_PER_SECOND;
        self.tokens = (self.tokens + refill).min(SUBSCRIBE_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Connection {
    async fn serve(self, socket: WebSocket) {
        let (sink, mut stream) = socket.split();
        let writer = Arc::new(Writer::new(sink));
        let mut tasks: JoinSet<Ended> = JoinSet::new();
        let mut following: HashMap<String, Followed> = HashMap::new();
        let mut shutdown = self.hub.shutdown_signal();
        let user = self.actor.user_id();
        let mut access = user.map(|user| self.hub.access_changes(user));
        let mut resync = self.hub.resync_signal();
        let mut allowance = Allowance::new();
        if *shutdown.borrow_and_update() {
            return;
        }
        resync.borrow_and_update();
        // When the credentials end by themselves (expiry, idleness), which
        // no notification announces.
        let mut deadline = match self.deadline().await {
            Ok(deadline) => deadline,
            Err(Step::Close(code, reason)) => return writer.close(code, reason).await,
            Err(_) => return,
        };
        // One timer for the credentials' end, moved when that changes (not
        // one made per frame).
        let expiry = tokio::time::sleep_until(deadline.unwrap_or_else(far_future));
        tokio::pin!(expiry);
        let mut armed = deadline;
        loop {
            if armed != deadline {
                expiry.as_mut().reset(deadline.unwrap_or_else(far_future));
                armed = deadline;
            }
            let step = tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        self.handle_frame(text.as_str(), &writer, &mut tasks, &mut following, &mut allowance)
                            .await
                    }
                    Some(Ok(Message::Binary(_))) => Step::Send(
                        error_frame("invalid_frame", "frames must be JSON text", None),
                    ),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Nothing,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => Step::Stop,
                },
                Some(ended) = tasks.join_next(), if !tasks.is_empty() => match ended {
                    Ok(Ended::TooSlow) => {
                        tracing::info!("dropping a client that fell behind");
                        Step::Close(close_code::AGAIN, "too slow: fell behind the event stream")
                    }
                    Ok(Ended::Stalled) => {
                        tracing::info!(waiting = "an event", "dropping a client that stopped reading");
                        Step::Stop
                    }
                    Ok(Ended::Quietly) | Err(_) => Step::Nothing,
                },
                _ = shutdown.changed() => Step::Close(close_code::AWAY, "server shutting down"),
                // A change to this user's access (or possibly missed ones),
                // or the credentials' end: check them and every topic again.
                Ok(()) = changed(&mut access) => self.recheck(&writer, &mut following, &mut deadline).await,
                Ok(()) = resync.changed(), if user.is_some() => {
                    self.recheck(&writer, &mut following, &mut deadline).await
                }
                () = &mut expiry, if deadline.is_some() => {
                    self.recheck(&writer, &mut following, &mut deadline).await
                }
            };
            match step {
                Step::Send(frame) => match writer.send(frame).await {
                    Ok(()) => {}
                    Err(Unsent::Stalled) => {
                        tracing::info!(
                            waiting = "an answer",
                            "dropping a client that stopped reading"
                        );
                        return;
                    }
                    Err(Unsent::Gone | Unsent::Stopped) => return,
                },
                Step::Close(code, reason) => return writer.close(code, reason).await,
                Step::Stop => return,
                Step::Nothing => {}
            }
        }
    }

    /// Checks again that the caller's credentials hold (else the socket
    /// closes) and that it may still follow each topic (else the topic
    /// ends with an `access_revoked` error frame).
    async fn recheck(
        &self,
        writer: &Writer,
        following: &mut HashMap<String, Followed>,
        deadline: &mut Option<tokio::time::Instant>,
    ) -> Step {
        // Nothing is sent while access is checked again: a topic about to
        // be refused sends nothing more.
        let mut held = writer.hold().await;
        match self.deadline().await {
            Ok(until) => *deadline = until,
            Err(step) => return step,
        }
        let topics: Vec<String> = following
            .keys()
            .filter(|topic| *topic != SYSTEM_TOPIC)
            .cloned()
            .collect();
        for topic in topics {
            let allowed = match topic.parse::<TopicRequest>() {
                Ok(request) => events::resolve_topic(&self.services, &self.actor, request).await,
                Err(_) => Err(ServiceError::NotFound { what: "topic" }),
            };
            match allowed {
                Ok(_) => {}
                Err(
                    ServiceError::NotFound { .. }
                    | ServiceError::Forbidden(_)
                    | ServiceError::Unauthenticated,
                ) => {
                    if let Some(followed) = following.remove(&topic) {
                        followed.stop();
                    }
                    let frame = error_frame(
                        "access_revoked",
                        "you may no longer follow this topic",
                        Some(topic),
                    );
                    if writer
                        .write_held(&mut held, Message::Text(frame), None)
                        .await
                        .is_err()
                    {
                        return Step::Stop;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, topic, "checking a followed topic again failed");
                    return Step::Close(close_code::AGAIN, "cannot check access now; reconnect");
                }
            }
        }
        Step::Nothing
    }

    /// When the caller's credentials end (`None`: anonymous, or never),
    /// or the step that closes the socket because they have.
    async fn deadline(&self) -> Result<Option<tokio::time::Instant>, Step> {
        let visitor = matches!(self.actor, Actor::Visitor { .. });
        if self.actor.user_id().is_none() && !visitor {
            return Ok(None);
        }
        match service::auth::sessions::valid_until(&self.services, &self.actor).await {
            Ok(Some(until)) => Ok((until - chrono::Utc::now())
                .to_std()
                .ok()
                .filter(|left| *left < Duration::from_secs(365 * 24 * 3600))
                .map(|left| tokio::time::Instant::now() + left)),
            Ok(None) => Err(Step::Close(
                close_code::POLICY,
                "signed out: the credentials ended",
            )),
            Err(error) => {
                tracing::warn!(%error, "checking a socket's credentials failed");
                Err(Step::Close(
                    close_code::AGAIN,
                    "cannot check access now; reconnect",
                ))
            }
        }
    }

    async fn handle_frame(
        &self,
        text: &str,
        writer: &Arc<Writer>,
        tasks: &mut JoinSet<Ended>,
        following: &mut HashMap<String, Followed>,
        allowance: &mut Allowance,
    ) -> Step {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => {
                return Step::Send(error_frame(
                    "invalid_frame",
                    &format!("not a client frame: {error}"),
                    None,
                ));
            }
        };
        let (topic, since) = match frame {
            ClientFrame::Ping => return Step::Send(to_json(&ServerFrame::Pong)),
            ClientFrame::Unsubscribe { topic } => {
                if let Some(followed) = following.remove(&topic) {
                    followed.stop();
                }
                return Step::Nothing;
            }
            ClientFrame::Subscribe { topic, since } => (topic, since),
        };
        if !following.contains_key(&topic) && following.len() >= MAX_TOPICS {
            return Step::Send(error_frame(
                "too_many_topics",
                &format!("a connection follows at most {MAX_TOPICS} topics"),
                Some(topic),
            ));
        }
        let stopped = Arc::new(AtomicBool::new(false));
        let task = if topic == SYSTEM_TOPIC {
            // Subscribing again changes nothing: heartbeats are not stored.
            if following.contains_key(&topic) {
                return Step::Nothing;
            }
            tasks.spawn(follow_system(
                self.hub.clone(),
                writer.clone(),
                stopped.clone(),
            ))
        } else {
            // Stored topics cost queries (and `since` a replay).
            if !allowance.take() {
                return Step::Send(error_frame(
                    "rate_limited",
                    &format!(
                        "too many subscribe frames: at most {SUBSCRIBE_BURST} at once, then \
                         {SUBSCRIBES_PER_SECOND} a second"
                    ),
                    Some(topic),
                ));
            }
            let resolved = match topic.parse::<TopicRequest>() {
                Ok(request) => events::resolve_topic(&self.services, &self.actor, request).await,
                Err(_) => Err(ServiceError::NotFound { what: "topic" }),
            };
            let stored = match resolved {
                Ok(stored) => stored,
                Err(error) => return Step::Send(refusal(&topic, &error)),
            };
            let follow = Follow {
                hub: self.hub.clone(),
                services: self.services.clone(),
                writer: writer.clone(),
                stopped: stopped.clone(),
                topic: topic.clone(),
                stored_name: stored.to_string(),
                stored,
                redact: matches!(self.actor, Actor::Visitor { .. }),
            };
            match follow.start(since).await {
                Ok(start) => {
                    // Subscribing again (with another `since`) starts
                    // over: the earlier task's frames stop before the new
                    // one's begin.
                    if let Some(previous) = following.remove(&topic) {
                        previous.stop();
                    }
                    tasks.spawn(follow.run(start))
                }
                Err(error) => {
                    tracing::warn!(%error, topic, "starting to follow a topic failed");
                    return Step::Send(unavailable(&topic));
                }
            }
        };
        following.insert(topic, Followed { task, stopped });
        Step::Nothing
    }
}

/// The next change of a user's access; never for an anonymous socket.
async fn changed(access: &mut Option<watch::Receiver<u64>>) -> Result<(), watch::error::RecvError> {
    match access {
        Some(access) => access.changed().await,
        None => std::future::pending().await,
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

/// Heartbeats: the latest at once, then each as it comes.
async fn follow_system(hub: Hub, writer: Arc<Writer>, stopped: Arc<AtomicBool>) -> Ended {
    let mut heartbeats = hub.subscribe_system();
    if let Some(snapshot) = hub.system_snapshot()
        && let Err(unsent) = writer.send_for(&stopped, snapshot.into()).await
    {
        return unsent.ended();
    }
    loop {
        match heartbeats.recv().await {
            Ok(frame) => {
                if let Err(unsent) = writer.send_for(&stopped, frame).await {
                    return unsent.ended();
                }
            }
            Err(RecvError::Lagged(_)) => return Ended::TooSlow,
            Err(RecvError::Closed) => return Ended::Quietly,
        }
    }
}

/// One stored topic followed for one connection.
struct Follow {
    hub: Hub,
    services: Services,
    writer: Arc<Writer>,
    stopped: Arc<AtomicBool>,
    /// As the client named it (`user`).
    topic: String,
    /// As it is stored (`user:<id>`).
    stored: Topic,
    stored_name: String,
    /// For a web embed's visitor: events go without their `error` (its
    /// text is the owner's: an agent's exception, a wallet or a cap).
    redact: bool,
}

/// A subscription set up: live deliveries from here on, and the last event
/// the client has (or is about to get from the database).
struct Start {
    live: broadcast::Receiver<Delivery>,
    last: i64,
    /// An error frame to send first: part of what the client asked for is
    /// no longer kept.
    warning: Option<Utf8Bytes>,
}

impl Follow {
    /// Subscribes before the next client frame is read, so that whatever is
    /// committed after the client's subscribe frame reaches it.
    async fn start(&self, since: Option<i64>) -> Result<Start, ServiceError> {
        // Live first, so nothing committed from here on can slip between
        // the catching up and the following.
        let live = self.hub.subscribe(&self.stored_name);
        let (newest, oldest) = events::bounds(&self.services, self.stored).await?;
        let (last, warning) = match since {
            None => (newest, None),
            Some(since) => {
                // The furthest back a replay goes: the oldest event kept,
                // and at most `MAX_REPLAY` before the newest. A client
                // asking for more is told to read the current state.
                let floor = oldest.map(|oldest| oldest.max(newest - MAX_REPLAY + 1));
                match floor {
                    Some(floor) if since.saturating_add(1) < floor => {
                        let warning = error_frame(
                            "history_gone",
                            &format!(
                                "events before {floor} are not replayed; \
                                 read the current state, then follow from here"
                            ),
                            Some(self.topic.clone()),
                        );
                        (floor - 1, Some(warning))
                    }
                    _ => (since.max(0), None),
                }
            }
        };
        Ok(Start {
            live,
            last,
            warning,
        })
    }

    async fn run(self, start: Start) -> Ended {
        match self.follow(start).await {
            Ok(ended) => ended,
            Err(error) => {
                tracing::warn!(%error, topic = self.topic, "following a topic failed");
                let _ = self.send(unavailable(&self.topic)).await;
                Ended::Quietly
            }
        }
    }

    async fn follow(&self, start: Start) -> Result<Ended, ServiceError> {
        let Start {
            mut live,
            mut last,
            warning,
        } = start;
        if let Some(warning) = warning
            && let Err(unsent) = self.send(warning).await
        {
            return Ok(unsent.ended());
        }
        last = match self.catch_up(last).await? {
            Ok(caught_up) => caught_up,
            Err(unsent) => return Ok(unsent.ended()),
        };
        // One wait per event: the topic's channel, which also says when
        // events may have been missed.
        loop {
            match live.recv().await {
                Ok(Delivery::Event(event)) if event.seq <= last => {}
                Ok(Delivery::Event(event)) if event.seq == last + 1 => {
                    let frame = if self.topic == self.stored_name {
                        event.frame
                    } else {
                        event_frame(&self.topic, event.seq, &event.event).into()
                    };
                    if let Err(unsent) = self.send(frame).await {
                        return Ok(unsent.ended());
                    }
                    last = event.seq;
                }
                // A gap, or events perhaps missed: what is missing is in
                // the database.
                Ok(Delivery::Event(_) | Delivery::Resync) => match self.catch_up(last).await? {
                    Ok(caught_up) => last = caught_up,
                    Err(unsent) => return Ok(unsent.ended()),
                },
                Err(RecvError::Lagged(_)) => return Ok(Ended::TooSlow),
                Err(RecvError::Closed) => return Ok(Ended::Quietly),
            }
        }
    }

    /// A frame of this topic, unless the topic was stopped.
    async fn send(&self, frame: Utf8Bytes) -> Result<(), Unsent> {
        let frame = if self.redact { redacted(frame) } else { frame };
        self.writer.send_for(&self.stopped, frame).await
    }

    /// Sends every stored event after `last`; answers the new last, or why
    /// a frame could not be sent.
    async fn catch_up(&self, mut last: i64) -> Result<Result<i64, Unsent>, ServiceError> {
        loop {
            let page =
                events::after(&self.services, self.stored, last, events::REPLAY_PAGE).await?;
            let full = page.len() as i64 == events::REPLAY_PAGE;
            for stored in page {
                let frame = event_frame(&self.topic, stored.seq, &stored.event.to_string());
                if let Err(unsent) = self.send(frame.into()).await {
                    return Ok(Err(unsent));
                }
                last = stored.seq;
            }
            if !full {
                return Ok(Ok(last));
            }
        }
    }
}

/// An event frame without its event's `error` (what a visitor sees).
fn redacted(frame: Utf8Bytes) -> Utf8Bytes {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(frame.as_str()) else {
        return frame;
    };
    let removed = value
        .get_mut("event")
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|event| event.remove("error"));
    match removed {
        Some(_) => value.to_string().into(),
        None => frame,
    }
}

/// The error frame for a subscription that was refused.
fn refusal(topic: &str, error: &ServiceError) -> Utf8Bytes {
    match error {
        ServiceError::Unauthenticated => error_frame(
            "unauthenticated",
            "sign in (or send an API key) to follow this topic",
            Some(topic.to_owned()),
        ),
        ServiceError::NotFound { .. } | ServiceError::Forbidden(_) => error_frame(
            "unknown_topic",
            &format!(
                "no topic {topic:?} that you may follow; topics: {SYSTEM_TOPIC}, user, \
                 deployment:<id>, run:<id>"
            ),
            Some(topic.to_owned()),
        ),
        other => {
            tracing::warn!(error = %other, topic, "checking a subscription failed");
            error_frame(
                "unavailable",
                "cannot check this subscription now; try again",
                Some(topic.to_owned()),
            )
        }
    }
}

fn unavailable(topic: &str) -> Utf8Bytes {
    error_frame(
        "unavailable",
        "live events are unavailable for now; subscribe again with since",
        Some(topic.to_owned()),
    )
}

fn error_frame(code: &str, message: &str, topic: Option<String>) -> Utf8Bytes {
    to_json(&ServerFrame::Error {
        code: code.to_owned(),
        message: message.to_owned(),
        topic,
    })
}

fn to_json(frame: &ServerFrame) -> Utf8Bytes {
    serde_json::to_string(frame).unwrap_or_default().into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_visitor_gets_events_without_their_error() {
        let frame = super::event_frame(
            "run:x",
            3,
            r#"{"kind":"run","status":"failed","error":"the wallet has 12 credits"}"#,
        );
        let redacted = super::redacted(frame.into());
        assert!(
            !redacted.as_str().contains("wallet"),
            "{}",
            redacted.as_str()
        );
        assert!(redacted.as_str().contains(r#""status":"failed""#));
        let plain = super::event_frame("run:x", 4, r#"{"kind":"run","status":"running"}"#);
        assert_eq!(super::redacted(plain.clone().into()).as_str(), plain);
    }

    #[test]
    fn event_frames_are_the_protocol_frames() {
        let frame = super::event_frame("user", 7, r#"{"kind":"x"}"#);
        let parsed: types::live::ServerFrame =
            serde_json::from_str(&frame).expect("a server frame");
        assert_eq!(
            parsed,
            types::live::ServerFrame::Event {
                topic: "user".to_owned(),
                seq: 7,
                event: serde_json::json!({ "kind": "x" }),
            }
        );
    }
}
