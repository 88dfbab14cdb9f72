//! The `/ws` live link with a real WebSocket client.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::TestApp;
use crate::support::ws::{Socket, connect, next_frame_within, send};

/// Generous: only a broken server makes a test wait this long.
const DEADLINE: Duration = Duration::from_secs(10);

/// The next JSON text frame.
async fn next_frame(socket: &mut Socket) -> Value {
    next_frame_within(socket, DEADLINE).await
}

/// Reads frames until one satisfies `wanted`.
async fn frame_where(socket: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = next_frame(socket).await;
        if wanted(&frame) {
            return frame;
        }
    }
}

fn heartbeat_with_clients(frame: &Value, clients: u64) -> bool {
    frame["type"] == "event" && frame["event"]["clients"] == clients
}

#[tokio::test]
async fn system_heartbeats_carry_time_and_client_count() {
    let app = TestApp::builder()
        .heartbeat(Duration::from_millis(50))
        .spawn()
        .await;
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "system" }),
    )
    .await;

    let first = next_frame(&mut socket).await;
    assert_eq!(first["type"], "event", "{first}");
    assert_eq!(first["topic"], "system");
    assert_eq!(first["event"]["kind"], "heartbeat", "{first}");
    assert_eq!(first["event"]["clients"], 1);
    let time = first["event"]["server_time"]
        .as_str()
        .expect("server_time is text");
    chrono::DateTime::parse_from_rfc3339(time).expect("server_time is RFC 3339");

    let second = next_frame(&mut socket).await;
    assert!(
        second["seq"].as_i64() > first["seq"].as_i64(),
        "sequence numbers increase: {first} then {second}"
    );

    let mut other = connect(&app).await;
    frame_where(&mut socket, |f| heartbeat_with_clients(f, 2)).await;
    other.close(None).await.expect("closing");
    frame_where(&mut socket, |f| heartbeat_with_clients(f, 1)).await;
}

#[tokio::test]
async fn ping_gets_pong_and_unsubscribe_stops_events() {
    let app = TestApp::builder()
        .heartbeat(Duration::from_millis(50))
        .spawn()
        .await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut socket).await, json!({ "type": "pong" }));

    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "system" }),
    )
    .await;
    frame_where(&mut socket, |f| f["type"] == "event").await;
    send(
        &mut socket,
        json!({ "type": "unsubscribe", "topic": "system" }),
    )
    .await;
    send(&mut socket, json!({ "type": "ping" })).await;
    // Events sent before the unsubscribe arrived may still come; after the
    // pong, none may.
    frame_where(&mut socket, |f| f["type"] == "pong").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut socket).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_link_survives() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app).await;

    socket
        .send(Message::text("not json"))
        .await
        .expect("sending");
    let error = next_frame(&mut socket).await;
    assert_eq!(
        (&error["type"], &error["code"]),
        (&"error".into(), &"invalid_frame".into())
    );

    socket
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("sending");
    assert_eq!(next_frame(&mut socket).await["code"], "invalid_frame");

    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "deployments:nope" }),
    )
    .await;
    let error = next_frame(&mut socket).await;
    assert_eq!(error["code"], "unknown_topic", "{error}");
    assert_eq!(error["topic"], "deployments:nope");

    // A frame larger than what the server reads at a time arrives whole.
    let padded = format!(
        r#"{{"type":"subscribe",{}"topic":"deployments:padded"}}"#,
        " ".repeat(20 << 10)
    );
    socket.send(Message::text(padded)).await.expect("sending");
    let error = next_frame(&mut socket).await;
    assert_eq!(error["code"], "unknown_topic", "{error}");
    assert_eq!(error["topic"], "deployments:padded");

    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut socket).await, json!({ "type": "pong" }));
}

/// A subscribe frame of exactly `size` bytes, for `topic`.
fn subscribe_of_size(topic: &str, size: usize) -> String {
    let head = r#"{"type":"subscribe","#;
    let tail = format!(r#""topic":"{topic}"}}"#);
    let frame = format!("{head}{}{tail}", " ".repeat(size - head.len() - tail.len()));
    assert_eq!(frame.len(), size);
    frame
}

#[tokio::test]
async fn a_frame_of_64_kib_is_read_and_a_larger_one_ends_the_link() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app).await;

    // The largest frame a client may send is read and answered.
    let largest = subscribe_of_size("deployments:largest", 64 << 10);
    socket.send(Message::text(largest)).await.expect("sending");
    let error = next_frame(&mut socket).await;
    assert_eq!(error["code"], "unknown_topic", "{error}");
    assert_eq!(error["topic"], "deployments:largest");

    // One byte more is not: the server reads no further on this socket
    // (no answer to it; the link ends, with a close frame or without).
    let larger = subscribe_of_size("deployments:larger", (64 << 10) + 1);
    // The server may end the link before the client has sent it all.
    let _ = socket.send(Message::text(larger)).await;
    let ended = tokio::time::timeout(DEADLINE, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => panic!("a frame past 64 KiB was answered: {text}"),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the link outlived a frame past 64 KiB");

    // Others are not affected.
    let mut other = connect(&app).await;
    send(&mut other, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut other).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let mut app = TestApp::spawn().await;
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "system" }),
    )
    .await;
    next_frame(&mut socket).await;

    let closed = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    };
    let (frame, ()) = tokio::join!(
        async {
            tokio::time::timeout(DEADLINE, closed)
                .await
                .expect("no close frame")
        },
        app.shut_down()
    );
    let frame = frame.expect("the close frame has a code");
    assert_eq!(frame.code, CloseCode::Away);
}

#[tokio::test]
async fn a_flooding_client_cannot_push_others_off_the_link() {
    let app = TestApp::builder()
        .heartbeat(Duration::from_millis(50))
        .spawn()
        .await;
    let mut steady = connect(&app).await;
    send(
        &mut steady,
        json!({ "type": "subscribe", "topic": "system" }),
    )
    .await;
    next_frame(&mut steady).await;

    let mut flooder = connect(&app).await;
    let subscribe = json!({ "type": "subscribe", "topic": "system" }).to_string();
    for _ in 0..2_000 {
        flooder
            .feed(Message::text(subscribe.clone()))
            .await
            .expect("queueing a frame");
    }
    flooder.flush().await.expect("sending the flood");
    // Repeated subscribes are no-ops: the flooder gets one snapshot, then
    // only the periodic heartbeats.
    send(&mut flooder, json!({ "type": "ping" })).await;
    let mut events_before_pong = 0;
    loop {
        let frame = next_frame(&mut flooder).await;
        if frame["type"] == "pong" {
            break;
        }
        events_before_pong += 1;
    }
    assert!(
        events_before_pong < 100,
        "{events_before_pong} events for one subscription"
    );

    // The steady client is still subscribed and connected.
    send(&mut steady, json!({ "type": "ping" })).await;
    frame_where(&mut steady, |f| f["type"] == "pong").await;
    frame_where(&mut steady, |f| f["type"] == "event").await;
}

#[tokio::test]
async fn browsers_from_other_sites_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    let app = TestApp::spawn().await;
    let host = app.base_url.trim_start_matches("http://").to_owned();

    let mut foreign = app.ws_url().into_client_request().expect("a request");
    foreign
        .headers_mut()
        .insert("origin", HeaderValue::from_static("https://evil.example"));
    match connect_async(foreign).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected a 403, got {other:?}"),
    }

    let mut own = app.ws_url().into_client_request().expect("a request");
    own.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{host}")).expect("a header value"),
    );
    connect_async(own).await.expect("same-origin connects");
}

/// A socket signed in as the holder of `cookie`.
async fn connect_as(app: &TestApp, cookie: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = app.ws_url().into_client_request().expect("a request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("a header value"));
    let (socket, response) = connect_async(request).await.expect("connecting to /ws");
    assert_eq!(response.status(), 101);
    socket
}

/// Commits one event to `topic` as the services do, on a connection of its
/// own; the server hears of it through PostgreSQL.
async fn publish(app: &TestApp, topic: &str, n: i64) -> i64 {
    let mut conn = app.sql().await;
    let topic: types::topic::Topic = topic.parse().expect("a stored topic");
    service::events::publish(&mut conn, topic, &json!({ "kind": "test", "n": n }))
        .await
        .expect("publishing")
}

#[tokio::test]
async fn a_client_that_resumes_with_since_gets_every_missed_event_once_in_order() {
    let app = TestApp::spawn().await;
    let (browser, me) =
        crate::support::browser::Browser::sign_up(&app, "live@example.com", "Live").await;
    let topic = format!("user:{}", me["user"]["id"].as_str().expect("id"));
    let cookie = browser.cookie.clone().expect("a session cookie");

    let mut socket = connect_as(&app, &cookie).await;
    send(&mut socket, json!({ "type": "subscribe", "topic": "user" })).await;
    // Subscribed once the pong (sent after the subscription is set up) is back.
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut socket).await["type"], "pong");

    // 100 events are emitted; the client drops off after the tenth.
    let emitter = {
        let topic = topic.clone();
        let db_url = app.db.url().to_owned();
        tokio::spawn(async move {
            use diesel_async::AsyncConnection as _;
            let mut conn = diesel_async::AsyncPgConnection::establish(&db_url)
                .await
                .expect("connecting");
            let topic: types::topic::Topic = topic.parse().expect("a stored topic");
            for n in 1..=100 {
                service::events::publish(&mut conn, topic, &json!({ "kind": "test", "n": n }))
                    .await
                    .expect("publishing");
                if n % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 10 {
        let frame = next_frame(&mut socket).await;
        assert_eq!(
            (&frame["type"], &frame["topic"]),
            (&"event".into(), &"user".into()),
            "{frame}"
        );
        seen.push((
            frame["seq"].as_i64().expect("seq"),
            frame["event"]["n"].as_i64().expect("n"),
        ));
    }
    drop(socket);
    emitter.await.expect("the emitter");

    let last = seen.last().expect("events").0;
    let mut socket = connect_as(&app, &cookie).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "user", "since": last }),
    )
    .await;
    while seen.len() < 100 {
        let frame = next_frame(&mut socket).await;
        seen.push((
            frame["seq"].as_i64().expect("seq"),
            frame["event"]["n"].as_i64().expect("n"),
        ));
    }
    let expected: Vec<(i64, i64)> = (1..=100).map(|n| (n, n)).collect();
    assert_eq!(seen, expected, "every event once, in order");
    // And live again from there, nothing repeated in between.
    publish(&app, &topic, 101).await;
    let frame = next_frame(&mut socket).await;
    assert_eq!(
        (frame["seq"].as_i64(), frame["event"]["n"].as_i64()),
        (Some(101), Some(101))
    );
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_frame(&mut socket).await["type"], "pong");
}

#[tokio::test]
async fn topics_are_followed_only_by_those_allowed() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "subscribe", "topic": "user" })).await;
    let error = next_frame(&mut socket).await;
    assert_eq!(
        (&error["code"], &error["topic"]),
        (&"unauthenticated".into(), &"user".into())
    );

    // Someone else's user topic, even by its stored name, is not followable.
    let (_, other) =
        crate::support::browser::Browser::sign_up(&app, "other@example.com", "Other").await;
    let (mine, _) =
        crate::support::browser::Browser::sign_up(&app, "mine@example.com", "Mine").await;
    let theirs = format!("user:{}", other["user"]["id"].as_str().expect("id"));
    let mut socket = connect_as(&app, mine.cookie.as_deref().expect("cookie")).await;
    send(&mut socket, json!({ "type": "subscribe", "topic": theirs })).await;
    let error = next_frame(&mut socket).await;
    assert_eq!(error["code"], "unknown_topic", "{error}");
    publish(&app, &theirs, 1).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(
        next_frame(&mut socket).await["type"],
        "pong",
        "nothing of theirs arrives"
    );
}
