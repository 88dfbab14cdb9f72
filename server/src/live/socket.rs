//! One WebSocket connection: reads client frames, forwards subscribed topics,
//! and drops the client when it is too slow to keep up.

use std::sync::Arc;
use std::time::Duration;

use app::model::live::{ClientFrame, SYSTEM_TOPIC, ServerFrame};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

use super::hub::Hub;
use crate::error::AppError;

/// Largest frame a client may send.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// A client that does not take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn upgrade(ws: WebSocketUpgrade, State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if !crate::origin::is_same_origin(&headers) {
        return AppError::Forbidden("WebSocket connections from other sites are refused")
            .into_response();
    }
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve(socket, hub))
}

enum Step {
    Send(String),
    Close(u16, &'static str),
    Stop,
    Nothing,
}

async fn serve(socket: WebSocket, hub: Hub) {
    let _client = hub.connect();
    let (mut sink, mut stream) = socket.split();
    let mut system: Option<broadcast::Receiver<Arc<str>>> = None;
    let mut shutdown = hub.shutdown_signal();
    if *shutdown.borrow_and_update() {
        return;
    }
    loop {
        let step = tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => handle_frame(text.as_str(), &hub, &mut system),
                Some(Ok(Message::Binary(_))) => Step::Send(error_frame(
                    "invalid_frame",
                    "frames must be JSON text",
                    None,
                )),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Nothing,
                Some(Ok(Message::Close(_)) | Err(_)) | None => Step::Stop,
            },
            event = next_event(&mut system) => match event {
                Ok(frame) => Step::Send(frame.to_string()),
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "dropping a client that fell behind");
                    Step::Close(close_code::AGAIN, "too slow: fell behind the event stream")
                }
                Err(RecvError::Closed) => Step::Stop,
            },
            _ = shutdown.changed() => Step::Close(close_code::AWAY, "server shutting down"),
        };
        let message = match step {
            Step::Send(text) => Message::Text(text.into()),
            Step::Close(code, reason) => {
                let close = Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }));
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
                return;
            }
            Step::Stop => return,
            Step::Nothing => continue,
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("dropping a client that stopped reading");
                return;
            }
        }
    }
}

async fn next_event(
    receiver: &mut Option<broadcast::Receiver<Arc<str>>>,
) -> Result<Arc<str>, RecvError> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

fn handle_frame(text: &str, hub: &Hub, system: &mut Option<broadcast::Receiver<Arc<str>>>) -> Step {
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
    match frame {
        ClientFrame::Ping => Step::Send(to_json(&ServerFrame::Pong)),
        ClientFrame::Subscribe { topic, .. } if topic == SYSTEM_TOPIC => {
            if system.is_some() {
                return Step::Nothing;
            }
            *system = Some(hub.subscribe_system());
            hub.system_snapshot().map_or(Step::Nothing, Step::Send)
        }
        ClientFrame::Unsubscribe { topic } if topic == SYSTEM_TOPIC => {
            *system = None;
            Step::Nothing
        }
        ClientFrame::Subscribe { topic, .. } | ClientFrame::Unsubscribe { topic } => {
            Step::Send(error_frame(
                "unknown_topic",
                &format!("no topic {topic:?}; available: {SYSTEM_TOPIC}"),
                Some(topic),
            ))
        }
    }
}

fn error_frame(code: &str, message: &str, topic: Option<String>) -> String {
    to_json(&ServerFrame::Error {
        code: code.to_owned(),
        message: message.to_owned(),
        topic,
    })
}

fn to_json(frame: &ServerFrame) -> String {
    serde_json::to_string(frame).unwrap_or_default()
}
