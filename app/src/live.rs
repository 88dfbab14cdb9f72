//! The browser's live link: one WebSocket to `/ws`, reconnected with
//! exponential backoff, whose state the top bar shows.

use leptos::prelude::*;

use crate::model::live::SystemEvent;

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

/// Shared through context: the link state and the last heartbeat received.
#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<LinkState>,
    pub heartbeat: RwSignal<Option<SystemEvent>>,
}

impl Live {
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(LinkState::Connecting),
            heartbeat: RwSignal::new(None),
        }
    }

    /// Starts the connection loop (in the browser; a no-op elsewhere).
    pub fn start(self) {
        #[cfg(feature = "csr")]
        leptos::task::spawn_local(client::run(self));
    }
}

#[cfg(feature = "csr")]
mod client {
    use futures::future::{Either, select};
    use futures::{SinkExt, StreamExt};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use gloo_timers::future::TimeoutFuture;
    use leptos::prelude::*;

    use super::{LinkState, Live};
    use crate::model::live::{ClientFrame, SYSTEM_TOPIC, SystemEvent};

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

    pub async fn run(live: Live) {
        let mut attempt: u32 = 0;
        loop {
            if let Some(url) = socket_url()
                && let Ok(socket) = WebSocket::open(&url)
            {
                serve(live, socket, &mut attempt).await;
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
        #[serde(borrow, default)]
        event: Option<&'a serde_json::value::RawValue>,
    }

    /// `SystemEvent::Heartbeat` read as a plain struct: the enum's tag would
    /// make serde buffer the whole event first, with more code in the bundle.
    #[derive(serde::Deserialize)]
    struct Heartbeat {
        kind: String,
        #[serde(with = "crate::model::timestamp")]
        server_time: chrono::DateTime<chrono::Utc>,
        clients: u64,
    }

    /// Runs one connection until it drops.
    async fn serve(live: Live, socket: WebSocket, attempt: &mut u32) {
        let (mut sink, mut stream) = socket.split();
        let subscribe = ClientFrame::Subscribe {
            topic: SYSTEM_TOPIC.to_owned(),
            since: None,
        };
        let Ok(text) = serde_json::to_string(&subscribe) else {
            return;
        };
        if sink.send(Message::Text(text)).await.is_err() {
            return;
        }
        loop {
            let next = stream.next();
            let silence = TimeoutFuture::new(SILENCE_LIMIT_MS);
            let message = match select(next, silence).await {
                Either::Left((Some(Ok(message)), _)) => message,
                Either::Left(_) | Either::Right(_) => return,
            };
            let Message::Text(text) = message else {
                continue;
            };
            if let Ok(frame) = serde_json::from_str::<Incoming<'_>>(&text)
                && frame.kind == "event"
                && frame.topic.as_deref() == Some(SYSTEM_TOPIC)
                && let Some(event) = frame.event
                && let Ok(Heartbeat {
                    kind,
                    server_time,
                    clients,
                }) = serde_json::from_str(event.get())
                && kind == "heartbeat"
            {
                let event = SystemEvent::Heartbeat {
                    server_time,
                    clients,
                };
                *attempt = 0;
                live.state.set(LinkState::Connected);
                live.heartbeat.set(Some(event));
            }
        }
    }
}
