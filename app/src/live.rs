//! The browser's live link: one WebSocket to `/ws`, reconnected with
//! exponential backoff, whose state the top bar shows. Pages follow topics
//! through it (`Live::follow`); after a reconnect every followed topic is
//! subscribed again from the last event seen, so nothing is missed or
//! repeated.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use types::live::SystemEvent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(feature = "csr"),
    expect(dead_code, reason = "only the browser's socket loop changes the state")
)]
pub enum LinkState {
    Connecting,
    Connected,
    Reconnecting { attempt: u32 },
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Reconnecting { .. } => "reconnecting",
        }
    }
}

/// What a followed topic delivers to its page.
#[derive(Clone, Debug)]
#[cfg_attr(
    not(feature = "csr"),
    expect(dead_code, reason = "only the browser's socket loop delivers")
)]
pub enum TopicMessage {
    /// The next event, in order, as JSON (the page knows its type).
    Event { seq: i64, event: String },
    /// Events the page asked for are no longer kept: it should read the
    /// current state again (following goes on from there).
    HistoryGone,
    /// The server refused the topic (unknown, or not the caller's).
    Refused { message: String },
}

type Listener = Arc<dyn Fn(TopicMessage) + Send + Sync>;

/// A followed topic: the last event delivered, and who listens.
struct Followed {
    last_seq: Option<i64>,
    listeners: Vec<(u64, Listener)>,
}

#[derive(Default)]
struct Follows {
    topics: HashMap<String, Followed>,
    next_id: u64,
}

/// What the page side asks of the socket loop.
#[cfg_attr(
    not(feature = "csr"),
    expect(dead_code, reason = "only the browser has a socket loop")
)]
enum Command {
    Subscribe {
        topic: String,
        since: Option<i64>,
    },
    Unsubscribe {
        topic: String,
    },
    /// Drop the connection and open a new one at once (the signed-in user
    /// changed, and the socket is authenticated when it opens).
    Reconnect,
}

type Outbox = futures::channel::mpsc::UnboundedSender<Command>;

/// Shared through context: the link state, the last heartbeat received, and
/// the topics pages follow.
#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<LinkState>,
    pub heartbeat: RwSignal<Option<SystemEvent>>,
    follows: StoredValue<Follows>,
    /// The open connection's command channel, if one is open.
    outbox: StoredValue<Option<Outbox>>,
}

impl Live {
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(LinkState::Connecting),
            heartbeat: RwSignal::new(None),
            follows: StoredValue::new(Follows::default()),
            outbox: StoredValue::new(None),
        }
    }

    /// Starts the connection loop (in the browser; a no-op elsewhere).
    pub fn start(self) {
        #[cfg(feature = "csr")]
        leptos::task::spawn_local(client::run(self));
    }

    /// Follows `topic` after event `since` (from now when `None`) until the
    /// calling view goes away: `on_message` gets each event once, in
    /// order, across reconnects. A second follower of a topic already
    /// followed gets the events from when it joined.
    pub fn follow(
        self,
        topic: String,
        since: Option<i64>,
        on_message: impl Fn(TopicMessage) + Send + Sync + 'static,
    ) {
        let listener: Listener = Arc::new(on_message);
        let (id, first) = self
            .follows
            .try_update_value(|follows| {
                follows.next_id += 1;
                let id = follows.next_id;
                let first = !follows.topics.contains_key(&topic);
                let followed = follows.topics.entry(topic.clone()).or_insert(Followed {
                    last_seq: since,
                    listeners: Vec::new(),
                });
                followed.listeners.push((id, listener));
                (id, first)
            })
            .unwrap_or((0, false));
        if first {
            self.command(Command::Subscribe {
                topic: topic.clone(),
                since,
            });
        }
        on_cleanup(move || self.unfollow(&topic, id));
    }

    fn unfollow(self, topic: &str, id: u64) {
        let last = self
            .follows
            .try_update_value(|follows| {
                let Some(followed) = follows.topics.get_mut(topic) else {
                    return false;
                };
                followed.listeners.retain(|(listener, _)| *listener != id);
                let last = followed.listeners.is_empty();
                if last {
                    follows.topics.remove(topic);
                }
                last
            })
            .unwrap_or(false);
        if last {
            self.command(Command::Unsubscribe {
                topic: topic.to_owned(),
            });
        }
    }

    /// Opens a new connection now: the server authenticates a socket when
    /// it opens, so signing in or out needs a fresh one.
    pub fn reconnect(self) {
        self.command(Command::Reconnect);
    }

    /// Hands `command` to the open connection; with none open, the next
    /// connection subscribes to everything followed anyway.
    fn command(self, command: Command) {
        self.outbox.with_value(|outbox| {
            if let Some(outbox) = outbox {
                let _ = outbox.unbounded_send(command);
            }
        });
    }

    /// Delivers a message to the topic's listeners (outside the lock, so a
    /// listener may follow or unfollow).
    #[cfg_attr(
        not(feature = "csr"),
        expect(dead_code, reason = "only the browser's socket loop delivers")
    )]
    fn deliver(self, topic: &str, seq: Option<i64>, message: TopicMessage) {
        let (listeners, gap) = self
            .follows
            .try_update_value(|follows| {
                let Some(followed) = follows.topics.get_mut(topic) else {
                    return (Vec::new(), false);
                };
                match (seq, followed.last_seq) {
                    // A subscription's events come without gaps: an older
                    // one was delivered already (subscriptions overlap), a
                    // later one is a frame of a subscription that ended
                    // (unfollowed, then followed again) or a gap to refill.
                    (Some(seq), Some(last)) if seq <= last => return (Vec::new(), false),
                    (Some(seq), Some(last)) if seq > last + 1 => return (Vec::new(), true),
                    (Some(seq), _) => followed.last_seq = Some(seq),
                    // The server goes on from the oldest event it kept.
                    (None, _) if matches!(message, TopicMessage::HistoryGone) => {
                        followed.last_seq = None;
                    }
                    (None, _) => {}
                }
                let listeners = followed
                    .listeners
                    .iter()
                    .map(|(_, listener)| Arc::clone(listener))
                    .collect();
                (listeners, false)
            })
            .unwrap_or_default();
        if gap {
            self.resubscribe(topic.to_owned());
        }
        for listener in listeners {
            listener(message.clone());
        }
    }

    /// Subscribes to `topic` again from the last event seen, if it is
    /// still followed.
    fn resubscribe(self, topic: String) {
        let since = self
            .follows
            .with_value(|follows| follows.topics.get(&topic).map(|followed| followed.last_seq));
        if let Some(since) = since {
            self.command(Command::Subscribe { topic, since });
        }
    }

    /// Every followed topic and where to go on from, for a new connection.
    #[cfg_attr(
        not(feature = "csr"),
        expect(dead_code, reason = "only the browser's socket loop subscribes")
    )]
    fn subscriptions(self) -> Vec<(String, Option<i64>)> {
        self.follows.with_value(|follows| {
            follows
                .topics
                .iter()
                .map(|(topic, followed)| (topic.clone(), followed.last_seq))
                .collect()
        })
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "csr")]
mod client {
    use futures::channel::mpsc;
    use futures::future::{Either, select};
    use futures::{SinkExt, StreamExt};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use gloo_timers::future::TimeoutFuture;
    use leptos::prelude::*;

    use super::{Command, LinkState, Live, TopicMessage};
    use types::live::{ClientFrame, SYSTEM_TOPIC, SystemEvent};

    /// No frame for this long means the link is dead even if the socket
    /// has not noticed (the server sends a heartbeat every few seconds).
    const SILENCE_LIMIT_MS: u32 = 15_000;
    const BACKOFF_START_MS: u32 = 500;
    const BACKOFF_MAX_MS: u32 = 10_000;

    fn socket_url() -> Option<String> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}/ws", location.host().ok()?))
    }

    fn backoff_ms(attempt: u32) -> u32 {
        let base = BACKOFF_START_MS
            .saturating_mul(1 << attempt.min(8))
            .min(BACKOFF_MAX_MS);
        // Jitter spreads reconnects of many tabs after a server restart.
        let jitter = (js_sys::Math::random() * f64::from(base) * 0.3) as u32;
        base - base * 3 / 10 + jitter
    }

    /// How a connection ended.
    enum Ended {
        Dropped,
        /// Asked to reconnect: at once, without backoff.
        Asked,
    }

    pub async fn run(live: Live) {
        let mut attempt: u32 = 0;
        loop {
            let ended = match socket_url().map(|url| WebSocket::open(&url)) {
                Some(Ok(socket)) => serve(live, socket, &mut attempt).await,
                _ => Ended::Dropped,
            };
            live.outbox.set_value(None);
            if let Ended::Asked = ended {
                live.state.set(LinkState::Connecting);
                continue;
            }
            attempt = attempt.saturating_add(1);
            live.state.set(LinkState::Reconnecting { attempt });
            TimeoutFuture::new(backoff_ms(attempt - 1)).await;
        }
    }

    /// A `ServerFrame` as far as this client reads it: the event stays raw
    /// JSON until its topic says what type it has.
    #[derive(serde::Deserialize)]
    struct Incoming<'a> {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        topic: Option<String>,
        #[serde(default)]
        seq: Option<i64>,
        #[serde(borrow, default)]
        event: Option<&'a serde_json::value::RawValue>,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }

    /// `SystemEvent::Heartbeat` read as a plain struct: the enum's tag would
    /// make serde buffer the whole event first, with more code in the bundle.
    #[derive(serde::Deserialize)]
    struct Heartbeat {
        kind: String,
        #[serde(with = "types::timestamp")]
        server_time: chrono::DateTime<chrono::Utc>,
        clients: u64,
    }

    fn frame(command: Command) -> Option<String> {
        let frame = match command {
            Command::Subscribe { topic, since } => ClientFrame::Subscribe { topic, since },
            Command::Unsubscribe { topic } => ClientFrame::Unsubscribe { topic },
            Command::Reconnect => return None,
        };
        serde_json::to_string(&frame).ok()
    }

    /// What the loop waits for: a frame from the server, or a command.
    enum Input {
        Socket(Option<Result<Message, gloo_net::websocket::WebSocketError>>),
        Command(Option<Command>),
    }

    /// Runs one connection until it drops.
    async fn serve(live: Live, socket: WebSocket, attempt: &mut u32) -> Ended {
        let (mut sink, mut stream) = socket.split();
        let (outbox, mut commands) = mpsc::unbounded();
        live.outbox.set_value(Some(outbox));
        let mut subscribe = vec![Command::Subscribe {
            topic: SYSTEM_TOPIC.to_owned(),
            since: None,
        }];
        subscribe.extend(
            live.subscriptions()
                .into_iter()
                .map(|(topic, since)| Command::Subscribe { topic, since }),
        );
        for command in subscribe {
            let Some(text) = frame(command) else { continue };
            if sink.send(Message::Text(text)).await.is_err() {
                return Ended::Dropped;
            }
        }
        loop {
            let next = select(stream.next(), commands.next());
            let silence = TimeoutFuture::new(SILENCE_LIMIT_MS);
            let input = match select(next, silence).await {
                Either::Left((Either::Left((message, _)), _)) => Input::Socket(message),
                Either::Left((Either::Right((command, _)), _)) => Input::Command(command),
                Either::Right(_) => return Ended::Dropped,
            };
            let message = match input {
                Input::Socket(Some(Ok(message))) => message,
                Input::Socket(_) => return Ended::Dropped,
                Input::Command(None | Some(Command::Reconnect)) => return Ended::Asked,
                Input::Command(Some(command)) => {
                    if let Some(text) = frame(command)
                        && sink.send(Message::Text(text)).await.is_err()
                    {
                        return Ended::Dropped;
                    }
                    continue;
                }
            };
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(frame) = serde_json::from_str::<Incoming<'_>>(&text) else {
                continue;
            };
            let Some(topic) = frame.topic else { continue };
            match (frame.kind.as_str(), frame.event) {
                ("event", Some(event)) if topic == SYSTEM_TOPIC => {
                    if let Ok(Heartbeat {
                        kind,
                        server_time,
                        clients,
                    }) = serde_json::from_str(event.get())
                        && kind == "heartbeat"
                    {
                        *attempt = 0;
                        live.state.set(LinkState::Connected);
                        live.heartbeat.set(Some(SystemEvent::Heartbeat {
                            server_time,
                            clients,
                        }));
                    }
                }
                ("event", Some(event)) => {
                    if let Some(seq) = frame.seq {
                        let message = TopicMessage::Event {
                            seq,
                            event: event.get().to_owned(),
                        };
                        live.deliver(&topic, Some(seq), message);
                    }
                }
                ("error", _) => {
                    let message = match frame.code.as_deref() {
                        Some("history_gone") => TopicMessage::HistoryGone,
                        Some("unavailable") => {
                            // Following broke on the server: start over from
                            // the last event seen, after a pause.
                            leptos::task::spawn_local(async move {
                                TimeoutFuture::new(1_000).await;
                                live.resubscribe(topic);
                            });
                            continue;
                        }
                        _ => TopicMessage::Refused {
                            message: frame.message.unwrap_or_default(),
                        },
                    };
                    live.deliver(&topic, None, message);
                }
                _ => {}
            }
        }
    }
}
