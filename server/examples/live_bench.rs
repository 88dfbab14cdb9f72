//! Deployments and runs, live: `cargo run --release -p server --example live_bench`.
//!
//! Starts a private PostgreSQL (the machine's binaries) in a temporary
//! directory and the whole server on a local port (router, job worker,
//! event listener, run keeper), signs up and makes an API key, publishes a
//! trivial agent (the blank template: it greets `input.name`), then
//! measures:
//! 1. deploy to running: `POST /api/v1/deployments` until the `running`
//!    status event arrives on a WebSocket subscribed to the deployment
//!    (the path a browser's page takes), 30 times;
//! 2. synchronous trivial runs over HTTP with the API key, each recorded
//!    (`runs` row, events), 500 in a row; then 500 free and 500 paid ones
//!    taken in turns: the paid agent costs another workspace 1 credit a
//!    run, held, charged and split in the ledger, under a monthly spend cap
//!    on both the deployment and the key (the most a run start checks);
//! 3. fan-out: 1,000 WebSocket clients on one deployment topic, 20 events
//!    committed 100 ms apart; the time from just before each commit to its
//!    arrival at every client.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use server::config::Config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const DEPLOYS: usize = 30;
const RUNS: usize = 500;
const CLIENTS: usize = 1000;
const EVENTS: usize = 20;

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {what} | {} | {:.2} | {:.2} | {:.2} |",
        times.len(),
        ms(common::percentile(&times, 0.5)),
        ms(common::percentile(&times, 0.99)),
        ms(*times.last().expect("times"))
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let mut db = common::private_postgres(&runtime);
    runtime.block_on(async {
        let config = Config::from_lookup(|name| match name {
            "AGENTDECK_DATA_DIR" => Some(db.dir.path().display().to_string()),
            // One client machine makes every request and socket.
            "AGENTDECK_API_LIMIT" => Some("1000000/60".to_owned()),
            "AGENTDECK_DB_POOL_SIZE" => Some("32".to_owned()),
            "AGENTDECK_STARTER_CREDITS" => Some("1000000".to_owned()),
            _ => None,
        })
        .expect("configuration");
        let running = common::serve(&config, &db).await;
        let (base, addr) = (running.base.clone(), running.addr);
        let services = running.services.clone();

        let http = reqwest::Client::new();
        let outbox = db.dir.path().join("outbox");
        let token = common::api_key(&http, &base, &outbox, "bench@example.com", None).await;
        let call = |method, path: String, body| common::request(&http, &base, &token, method, path, body);
        // The trivial agent, published.
        let agent = call(
            reqwest::Method::POST,
            "/api/v1/agents".into(),
            Some(json!({ "name": "Greeter" })),
        )
        .await;
        let slug = agent["slug"].as_str().expect("slug").to_owned();
        call(
            reqwest::Method::POST,
            format!("/api/v1/agents/{slug}/versions"),
            Some(json!({ "version": "1.0.0" })),
        )
        .await;

        println!("| Measure | n | p50 ms | p99 ms | max ms |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        let mut watcher = socket(&addr.to_string(), &token).await;
        let mut deploys = Vec::new();
        let mut deployment = String::new();
        for round in 0..=DEPLOYS {
            let started = Instant::now();
            let created = call(
                reqwest::Method::POST,
                "/api/v1/deployments".into(),
                Some(json!({ "agent": slug })),
            )
            .await;
            deployment = created["id"].as_str().expect("id").to_owned();
            send(
                &mut watcher,
                json!({ "type": "subscribe", "topic": format!("deployment:{deployment}"), "since": 0 }),
            )
            .await;
            loop {
                let frame = next(&mut watcher).await;
                if frame["event"]["status"] == "running" {
                    break;
                }
                assert_ne!(frame["event"]["status"], "failed", "{frame}");
            }
            // The first deploy prepares the script once; the rest are timed.
            if round > 0 {
                deploys.push(started.elapsed());
            }
            send(
                &mut watcher,
                json!({ "type": "unsubscribe", "topic": format!("deployment:{deployment}") }),
            )
            .await;
        }
        report("deploy → `running` seen on a WebSocket", deploys);

        let path = format!("/api/v1/deployments/{deployment}/runs");
        let mut runs = Vec::with_capacity(RUNS);
        for round in 0..RUNS + 20 {
            let started = Instant::now();
            let run = call(
                reqwest::Method::POST,
                path.clone(),
                Some(json!({ "input": { "name": "Ada" } })),
            )
            .await;
            assert_eq!(run["status"], "succeeded", "{run}");
            if round >= 20 {
                runs.push(started.elapsed());
            }
        }
        report("synchronous trivial run, API key, recorded", runs);

        // A paid agent, run by another workspace under spend caps, in turns
        // with the free one.
        let paid_slug = call(
            reqwest::Method::POST,
            "/api/v1/agents".into(),
            Some(json!({ "name": "Paid greeter" })),
        )
        .await["slug"]
            .as_str()
            .expect("slug")
            .to_owned();
        let draft_path = format!("/api/v1/agents/{paid_slug}/draft");
        let mut draft = call(reqwest::Method::GET, draft_path.clone(), None).await;
        draft["listing"]["price_credits"] = json!(1);
        call(
            reqwest::Method::PUT,
            draft_path,
            Some(json!({
                "revision": draft["revision"], "listing": draft["listing"],
                "readme": draft["readme"], "source": draft["source"],
                "manifest": draft["manifest"], "example_input": draft["example_input"],
            })),
        )
        .await;
        call(
            reqwest::Method::POST,
            format!("/api/v1/agents/{paid_slug}/versions"),
            Some(json!({ "version": "1.0.0" })),
        )
        .await;
        let payer = common::api_key(&http, &base, &outbox, "payer@example.com", Some(1_000_000)).await;
        let as_payer =
            |method, path: String, body| common::request(&http, &base, &payer, method, path, body);
        let paid = as_payer(
            reqwest::Method::POST,
            "/api/v1/deployments".into(),
            Some(json!({ "agent": paid_slug })),
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        while as_payer(reqwest::Method::GET, format!("/api/v1/deployments/{paid}"), None).await
            ["status"]
            != "running"
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        as_payer(
            reqwest::Method::PUT,
            format!("/api/v1/deployments/{paid}/spend-cap"),
            Some(json!({ "monthly_credits": 1_000_000 })),
        )
        .await;
        let paid_path = format!("/api/v1/deployments/{paid}/runs");
        let (mut free_runs, mut paid_runs) = (Vec::new(), Vec::new());
        for round in 0..RUNS + 20 {
            let started = Instant::now();
            let run = call(
                reqwest::Method::POST,
                path.clone(),
                Some(json!({ "input": { "name": "Ada" } })),
            )
            .await;
            let free = started.elapsed();
            assert_eq!(run["status"], "succeeded", "{run}");
            let started = Instant::now();
            let run = as_payer(
                reqwest::Method::POST,
                paid_path.clone(),
                Some(json!({ "input": { "name": "Ada" } })),
            )
            .await;
            let charged = started.elapsed();
            assert_eq!(run["charged_credits"], 1, "{run}");
            if round >= 20 {
                free_runs.push(free);
                paid_runs.push(charged);
            }
        }
        report("free trivial run (in turns with the paid one)", free_runs);
        report(
            "paid trivial run: held, charged, split, under deployment and key caps",
            paid_runs,
        );

        // Fan-out: every client subscribed, then events committed.
        let topic = format!("deployment:{deployment}");
        let mut clients = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            let mut client = socket(&addr.to_string(), &token).await;
            send(&mut client, json!({ "type": "subscribe", "topic": topic })).await;
            clients.push(client);
        }
        // Subscribed when each has answered a ping sent after its subscribe.
        for client in &mut clients {
            send(client, json!({ "type": "ping" })).await;
            while next(client).await["type"] != "pong" {}
        }
        let epoch = Instant::now();
        let receivers: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    let mut arrivals = Vec::with_capacity(EVENTS);
                    while arrivals.len() < EVENTS {
                        let frame = next(&mut client).await;
                        if let Some(n) = frame["event"]["bench"].as_u64() {
                            arrivals.push((n, epoch.elapsed()));
                        }
                    }
                    arrivals
                })
            })
            .collect();
        let mut conn = services.conn().await.expect("a connection");
        let mut sent = Vec::with_capacity(EVENTS);
        for n in 0..EVENTS {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sent.push(epoch.elapsed());
            service::events::publish(
                &mut conn,
                topic.parse().expect("a stored topic"),
                &json!({ "kind": "log", "level": "info", "message": "bench", "bench": n,
                         "at": chrono::Utc::now() }),
            )
            .await
            .expect("publishing");
        }
        let mut latencies = Vec::with_capacity(CLIENTS * EVENTS);
        for receiver in receivers {
            for (n, at) in receiver.await.expect("a client") {
                latencies.push(at.saturating_sub(sent[n as usize]));
            }
        }
        report(
            &format!("event fan-out to {CLIENTS} WebSocket clients on one topic"),
            latencies,
        );
        drop(conn);
        let _ = running.stop.send(());
        let _ = running.serving.await;
    });
    drop(runtime);
    db.postgres.stop().expect("stopping PostgreSQL");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(addr: &str, token: &str) -> Socket {
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    // As browsers do: no Nagle delay on small frames.
    tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .expect("a socket")
        .0
}

async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::text(frame.to_string()))
        .await
        .expect("sending");
}

async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket open")
            .expect("no error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}
