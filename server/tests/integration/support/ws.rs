//! A real WebSocket client for `/ws`: connecting (anonymously or with a
//! browser's session cookie), sending frames and reading JSON frames.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::TestApp;
use super::browser::Browser;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/ws` anonymously.
pub async fn connect(app: &TestApp) -> Socket {
    open(app, None).await
}

/// Opens `/ws` as `browser`, with its session cookie.
pub async fn connect_as(app: &TestApp, browser: &Browser) -> Socket {
    open(app, Some(browser.cookie.as_deref().expect("signed in"))).await
}

/// Opens `/ws` as a program holding the API key `token`.
pub async fn connect_with_key(app: &TestApp, token: &str) -> Socket {
    let mut request = app.ws_url().into_client_request().expect("a request");
    let value = format!("Bearer {token}").parse().expect("a header");
    request.headers_mut().insert("authorization", value);
    let (socket, response) = connect_async(request).await.expect("connecting to /ws");
    assert_eq!(response.status(), 101);
    socket
}

async fn open(app: &TestApp, cookie: Option<&str>) -> Socket {
    let mut request = app.ws_url().into_client_request().expect("a request");
    if let Some(cookie) = cookie {
        let value = cookie.parse().expect("a header");
        request.headers_mut().insert("cookie", value);
    }
    let (socket, response) = connect_async(request).await.expect("connecting to /ws");
    assert_eq!(response.status(), 101);
    socket
}

pub async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::text(frame.to_string()))
        .await
        .expect("sending a frame");
}

/// The next JSON text frame within `deadline` (pings and pongs skipped;
/// anything else fails the test).
pub async fn next_frame_within(socket: &mut Socket, deadline: Duration) -> Value {
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await
            .expect("no frame before the deadline")
            .expect("the socket closed")
            .expect("a WebSocket error");
        match message {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("frames are JSON");
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
}
