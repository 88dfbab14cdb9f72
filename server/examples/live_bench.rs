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
//! 3. statements per run: 200 free then 200 paid runs, counted by the
//!    database (`pg_stat_statements`, every statement of the server's
//!    connections while they go, background work included; with
//!    `LIVE_BENCH_NESTED=1` the statements triggers run as well);
//! 4. fan-out: 1,000, then 10,000 WebSocket clients on one deployment
//!    topic, 20 events committed 100 ms apart; the time from just before
//!    each commit to its arrival at every client. The clients live in
//!    child processes of this program (5,000 each), so that this one's
//!    open files (its limit raised as far as allowed) are the server's;
//!    they close their sockets when every client of both has every event
//!    (no socket opens or closes while events are delivered).

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
/// WebSocket clients on one topic, in turn.
const FAN_OUT: [usize; 2] = [1_000, 10_000];
const EVENTS: usize = 20;
/// Runs whose statements are counted.
const COUNTED: usize = 200;

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
    if let Ok(spec) = std::env::var(CLIENT_PROCESS) {
        server::raise_open_files(65_536);
        return client_process(&spec);
    }
    // The server's end of each client is an open file here.
    let files = server::raise_open_files(65_536);
    assert!(files > 10_000 + 1_000, "the open-file limit is {files}");
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    // pg_stat_statements: the database's own count of what a run asks.
    // `LIVE_BENCH_NESTED=1` counts the statements of triggers too (a
    // statement's time then includes its triggers' statements).
    let track = if std::env::var_os("LIVE_BENCH_NESTED").is_some() {
        "pg_stat_statements.track=all"
    } else {
        "pg_stat_statements.track=top"
    };
    let mut db = common::private_postgres_with(
        &runtime,
        &[
            "shared_preload_libraries=pg_stat_statements",
            "pg_stat_statements.track_planning=on",
            track,
        ],
    );
    runtime.block_on(async {
        let config = Config::from_lookup(|name| match name {
            "AGENTDECK_DATA_DIR" => Some(db.dir.path().display().to_string()),
            // One client machine makes every request and socket.
            "AGENTDECK_API_LIMIT" => Some("1000000/60".to_owned()),
            "AGENTDECK_DB_POOL_SIZE" => Some("32".to_owned()),
            "AGENTDECK_LIVE_SOCKETS" => Some("100000/100000".to_owned()),
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
        let mut deploys = Vec::new();
        let mut deployment = String::new();
        for round in 0..=DEPLOYS {
            // A page's socket (one subscribe each: a socket's allowance of
            // subscribes is 30 at once).
            let mut watcher = socket(&addr.to_string(), &token).await;
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

        // What a run asks of the database, counted by the database itself.
        let mut counted = Vec::new();
        for (what, deployment_path, key) in [
            ("free", &path, &token),
            ("paid", &paid_path, &payer),
        ] {
            let statements = count_statements(&services, COUNTED, async || {
                let run = common::request(
                    &http,
                    &base,
                    key,
                    reqwest::Method::POST,
                    deployment_path.clone(),
                    Some(json!({ "input": { "name": "Ada" } })),
                )
                .await;
                assert_eq!(run["status"], "succeeded", "{run}");
            })
            .await;
            counted.push((what, statements));
        }

        // Fan-out: every client subscribed, then events committed.
        let topic = format!("deployment:{deployment}");
        let mut fan_outs = Vec::new();
        let mut memory = Vec::new();
        for clients in FAN_OUT {
            let (latencies, per_socket, slowest) =
                fan_out(&services, &addr.to_string(), &token, &topic, clients).await;
            fan_outs.push((clients, latencies));
            memory.push((clients, per_socket, slowest));
        }
        for (clients, latencies) in fan_outs {
            report(
                &format!("event fan-out to {clients} WebSocket clients on one topic"),
                latencies,
            );
        }
        println!();
        for (clients, per_socket, slowest) in memory {
            println!(
                "server memory per subscribed socket ({clients}, resident growth): {per_socket:.1} KiB"
            );
            println!("each event's last arrival at {clients} clients, ms: {slowest}");
        }
        println!();
        for (what, statements) in counted {
            statements.report(what, COUNTED);
        }
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
    // A small read buffer: the library zeroes all of it before each read
    // (128 KiB by default), which would make the clients, not the server,
    // what the fan-out measures. As browsers do: no Nagle delay on small
    // frames.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 << 10);
    tokio_tungstenite::connect_async_with_config(request, Some(config), true)
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
    serde_json::from_str(&next_text(socket).await).expect("JSON")
}

async fn next_text(socket: &mut Socket) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket open")
            .expect("no error");
        if let Message::Text(text) = message {
            return text.as_str().to_owned();
        }
    }
}

/// Statements the database ran, by text, while some runs went.
struct Statements(Vec<(String, i64, f64)>);

impl Statements {
    fn report(&self, what: &str, runs: usize) {
        let per_run = |calls: i64| calls as f64 / runs as f64;
        let total: i64 = self.0.iter().map(|(_, calls, _)| calls).sum();
        let commits: i64 = self
            .0
            .iter()
            .filter(|(query, _, _)| query.eq_ignore_ascii_case("commit"))
            .map(|(_, calls, _)| calls)
            .sum();
        println!(
            "statements per {what} run: {:.2} ({:.2} of them COMMIT)",
            per_run(total),
            per_run(commits)
        );
        println!("  per run  mean ms  statement");
        for (query, calls, mean) in &self.0 {
            let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = query.chars().take(100).collect();
            println!("  {:>7.2}  {mean:>7.3}  {short}", per_run(*calls));
        }
    }
}

/// Counts the database's statements while `runs` runs go, one after
/// another (pg_stat_statements, reset first).
async fn count_statements(
    services: &service::Services,
    runs: usize,
    mut run: impl AsyncFnMut(),
) -> Statements {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Counted {
        #[diesel(sql_type = diesel::sql_types::Text)]
        query: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        calls: i64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        mean_exec_time: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        planned: f64,
    }
    let mut conn = services.conn().await.expect("a connection");
    diesel::sql_query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut conn)
        .await
        .expect("pg_stat_statements");
    diesel::sql_query("SELECT pg_stat_statements_reset()")
        .execute(&mut conn)
        .await
        .expect("a reset");
    drop(conn);
    for _ in 0..runs {
        run().await;
    }
    let mut conn = services.conn().await.expect("a connection");
    let rows: Vec<Counted> = diesel::sql_query(
        "SELECT query, calls, mean_exec_time + mean_plan_time AS mean_exec_time, \
                plans::float8 / greatest(calls, 1) AS planned FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND query NOT LIKE '%pg_stat_statements%' \
         ORDER BY calls DESC, query",
    )
    .load(&mut conn)
    .await
    .expect("the counts");
    Statements(
        rows.into_iter()
            .map(|row| {
                (
                    format!("[planned {:.2}] {}", row.planned, row.query),
                    row.calls,
                    row.mean_exec_time,
                )
            })
            .collect(),
    )
}

/// Clients one client process holds (each is an open file there, and one
/// in the server).
const CLIENTS_PER_PROCESS: usize = 5_000;

/// `clients` sockets subscribed to `topic` (held by client processes: this
/// one's open files go to the server's ends), then `EVENTS` events
/// committed 100 ms apart: the time from just before each commit to its
/// arrival at each client, by the system clock both processes share; how
/// much this process's resident memory grew per subscribed socket; and each
/// event's slowest arrival.
async fn fan_out(
    services: &service::Services,
    addr: &str,
    token: &str,
    topic: &str,
    clients: usize,
) -> (Vec<Duration>, f64, String) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let resident_before = resident_kib();
    let mut children = Vec::new();
    let mut left = clients;
    while left > 0 {
        let n = left.min(CLIENTS_PER_PROCESS);
        left -= n;
        let mut child =
            tokio::process::Command::new(std::env::current_exe().expect("this program"))
                .env(CLIENT_PROCESS, format!("{n} {addr} {topic}"))
                .env("LIVE_BENCH_TOKEN", token)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("a client process");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("its output")).lines();
        // Each says when its clients are all subscribed.
        assert_eq!(
            lines.next_line().await.expect("reading").as_deref(),
            Some("ready")
        );
        children.push((child, lines));
    }
    let per_socket = (resident_kib() - resident_before) / clients as f64;
    let mut conn = services.conn().await.expect("a connection");
    let mut sent = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sent.push(unix_nanos());
        service::events::publish(
            &mut conn,
            topic.parse().expect("a stored topic"),
            &json!({ "kind": "log", "level": "info", "message": "bench", "bench": n,
                     "at": chrono::Utc::now() }),
        )
        .await
        .expect("publishing");
    }
    let mut latencies = Vec::with_capacity(clients * EVENTS);
    let mut per_event = vec![Vec::new(); EVENTS];
    for (_, lines) in &mut children {
        while let Some(line) = lines.next_line().await.expect("reading") {
            if line == "done" {
                break;
            }
            let (n, at) = line.split_once(' ').expect("<event> <nanos>");
            let n: usize = n.parse().expect("an event number");
            let at: u128 = at.parse().expect("nanoseconds");
            let nanos = at.saturating_sub(sent[n]);
            per_event[n].push(nanos / 1000);
            latencies.push(Duration::from_nanos(
                u64::try_from(nanos).unwrap_or(u64::MAX),
            ));
        }
    }
    // Every client has every event: now they may close.
    for (mut child, _) in children {
        let mut stdin = child.stdin.take().expect("its input");
        stdin
            .write_all(b"close\n")
            .await
            .expect("telling a client process");
        drop(stdin);
        assert!(child.wait().await.expect("a client process").success());
    }
    // Each event's last arrival, ms: whether one event makes the tail.
    let slowest = per_event
        .iter()
        .map(|micros| format!("{:.1}", *micros.iter().max().unwrap_or(&0) as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        latencies.len(),
        clients * EVENTS,
        "every client got every event"
    );
    (latencies, per_socket, slowest)
}

/// This process's resident memory, KiB (Linux).
fn resident_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Set (to `<clients> <addr> <topic>`, with `LIVE_BENCH_TOKEN`) in a client
/// process.
const CLIENT_PROCESS: &str = "LIVE_BENCH_CLIENTS";

/// A client process: its sockets subscribed, then `ready`, then each
/// arrival as `<event> <unix nanos>` and `done`; it closes its sockets
/// when told `close`.
fn client_process(spec: &str) {
    use tokio::io::AsyncBufReadExt as _;
    let mut parts = spec.split(' ');
    let clients: usize = parts.next().and_then(|n| n.parse().ok()).expect("clients");
    let addr = parts.next().expect("an address").to_owned();
    let topic = parts.next().expect("a topic").to_owned();
    let token = std::env::var("LIVE_BENCH_TOKEN").expect("a token");
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    runtime.block_on(async {
        let mut sockets = Vec::with_capacity(clients);
        for _ in 0..clients {
            let mut client = socket(&addr, &token).await;
            send(&mut client, json!({ "type": "subscribe", "topic": topic })).await;
            sockets.push(client);
        }
        // Subscribed when each has answered a ping sent after its subscribe.
        for client in &mut sockets {
            send(client, json!({ "type": "ping" })).await;
            while next(client).await["type"] != "pong" {}
        }
        println!("ready");
        let receivers: Vec<_> = sockets
            .into_iter()
            .map(|mut client| {
                tokio::spawn(async move {
                    let mut arrivals = Vec::with_capacity(EVENTS);
                    while arrivals.len() < EVENTS {
                        // Read as little as it takes: the time measured is
                        // the server's, not a client's JSON parser's.
                        if let Some(n) = bench_number(&next_text(&mut client).await) {
                            arrivals.push((n, unix_nanos()));
                        }
                    }
                    (client, arrivals)
                })
            })
            .collect();
        // Closed only when every client of every process has every event
        // (`done`, then this process waits for `close`): a client closing
        // as soon as it has the last would make the server's work of
        // closing sockets part of the last event's fan-out.
        let mut out = String::new();
        let mut done = Vec::with_capacity(clients);
        for receiver in receivers {
            let (client, arrivals) = receiver.await.expect("a client");
            for (n, at) in arrivals {
                out.push_str(&format!("{n} {at}\n"));
            }
            done.push(client);
        }
        print!("{out}");
        println!("done");
        std::io::Write::flush(&mut std::io::stdout()).expect("writing");
        let mut close = String::new();
        tokio::io::BufReader::new(tokio::io::stdin())
            .read_line(&mut close)
            .await
            .expect("reading");
        for mut client in done {
            let _ = client.close(None).await;
        }
    });
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}

/// The `bench` number of an event frame, if it has one.
fn bench_number(frame: &str) -> Option<usize> {
    let at = frame.find("\"bench\":")? + "\"bench\":".len();
    let digits: String = frame[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
