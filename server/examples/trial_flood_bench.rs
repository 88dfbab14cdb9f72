//! Test runs cannot crowd out production runs:
//! `cargo run --release -p server --example trial_flood_bench`.
//!
//! Starts the whole server on a private PostgreSQL (as `live_bench`), lets
//! one account deploy the trivial agent, and measures its synchronous runs
//! over HTTP (p50/p99 of 300 in a row) three times:
//! 1. idle;
//! 2. while another account sends 64 hostile test runs at once, again and
//!    again (each spins until its deadline): the account's limit refuses
//!    all but two;
//! 3. while 16 accounts each keep four hostile test runs going, so the
//!    test runs' share of the sandbox is always full.
//!
//! It reports how many test runs ran and were refused, and whether any
//! production run failed or waited past its timeout.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::config::Config;

const RUNS: usize = 300;

/// A test run that spins until its deadline.
const HOSTILE: &str = "export default async function run() { for (;;) {} }";

#[derive(Default)]
struct Flood {
    ran: AtomicU64,
    refused: AtomicU64,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let mut db = common::private_postgres(&runtime);
    runtime.block_on(async {
        let config = Config::from_lookup(|name| match name {
            "AGENTDECK_DATA_DIR" => Some(db.dir.path().display().to_string()),
            "AGENTDECK_API_LIMIT" => Some("1000000/60".to_owned()),
            "AGENTDECK_DB_POOL_SIZE" => Some("32".to_owned()),
            // The launch agent is paid: enough credits for every run.
            "AGENTDECK_STARTER_CREDITS" => Some("1000000".to_owned()),
            _ => None,
        })
        .expect("configuration");
        let running = common::serve(&config, &db).await;
        let base = running.base.clone();
        let http = reqwest::Client::new();
        let outbox = db.dir.path().join("outbox");

        // The production account and its deployment.
        let token = common::api_key(&http, &base, &outbox, "prod@example.com", None).await;
        let call =
            |method, path: String, body| common::request(&http, &base, &token, method, path, body);
        let created = call(
            reqwest::Method::POST,
            "/api/v1/deployments".into(),
            Some(json!({ "agent": "analytics" })),
        )
        .await;
        let deployment = created["id"].as_str().expect("id").to_owned();
        loop {
            let shown = call(reqwest::Method::GET, format!("/api/v1/deployments/{deployment}"), None).await;
            if shown["status"] == "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let example: Value =
            serde_json::from_str(include_str!("../../agents/launch/analytics/example.json"))
                .expect("the example");

        // The flooding accounts, each with an agent to test-run.
        let mut flooders = Vec::new();
        for n in 0..16_u8 {
            // Each from an address of its own (sign-ups are limited per
            // address).
            let own = reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 0, 10 + n]))
                .build()
                .expect("a client");
            let key = common::api_key(&own, &base, &outbox, &format!("flood{n}@example.com"), None)
                .await;
            let agent = common::request(
                &own,
                &base,
                &key,
                reqwest::Method::POST,
                "/api/v1/agents".into(),
                Some(json!({ "name": format!("Spinner {n}") })),
            )
            .await;
            flooders.push((key, agent["slug"].as_str().expect("slug").to_owned()));
        }

        println!("| Production runs while | n | failed | p50 ms | p99 ms | max ms | test runs ran | refused |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (label, accounts, at_once) in [
            ("idle", 0, 0),
            ("one account sends 64 test runs at once", 1, 64),
            ("16 accounts keep 4 test runs each going", 16, 4),
        ] {
            let flood = Arc::new(Flood::default());
            let stop = Arc::new(AtomicBool::new(false));
            let mut tasks = Vec::new();
            for (key, slug) in flooders.iter().take(accounts) {
                for _ in 0..at_once {
                    let (http, base, key, slug) =
                        (http.clone(), base.clone(), key.clone(), slug.clone());
                    let (flood, stop) = (flood.clone(), stop.clone());
                    tasks.push(tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let answer = http
                                .post(format!("{base}/api/v1/agents/{slug}/test-runs"))
                                .bearer_auth(&key)
                                .json(&json!({ "source": HOSTILE, "input": "{}",
                                               "manifest": { "limits": { "timeout_ms": 15000 } } }))
                                .send()
                                .await;
                            let status = match answer {
                                Ok(answer) => {
                                    let status = answer.status().as_u16();
                                    if status != 200 && status != 429 {
                                        let body = answer.text().await.unwrap_or_default();
                                        println!("a test run answered {status}: {body}");
                                    }
                                    Ok(status)
                                }
                                Err(error) => Err(error),
                            };
                            match status {
                                Ok(200) => flood.ran.fetch_add(1, Ordering::Relaxed),
                                _ => {
                                    // Refused: try again a little later.
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                    flood.refused.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    }));
                }
            }
            // Let the flood fill the share first.
            if accounts > 0 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let mut times = Vec::with_capacity(RUNS);
            let mut failed = 0;
            for _ in 0..RUNS {
                let started = Instant::now();
                let answer = http
                    .post(format!("{base}/api/v1/deployments/{deployment}/runs"))
                    .bearer_auth(&token)
                    .json(&json!({ "input": example["input"] }))
                    .send()
                    .await
                    .expect("a run");
                let status = answer.status();
                let run: Value = answer.json().await.unwrap_or(Value::Null);
                times.push(started.elapsed());
                if status != 200 || run["status"] != "succeeded" {
                    failed += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
            for task in tasks {
                task.abort();
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "| {label} | {RUNS} | {failed} | {:.2} | {:.2} | {:.2} | {} | {} |",
                ms(common::percentile(&times, 0.5)),
                ms(common::percentile(&times, 0.99)),
                ms(*times.last().expect("times")),
                flood.ran.load(Ordering::Relaxed),
                flood.refused.load(Ordering::Relaxed),
            );
            // The spinning test runs end at their deadline.
            tokio::time::sleep(Duration::from_secs(16)).await;
        }
        let _ = running.stop.send(());
        let _ = running.serving.await;
    });
    db.postgres.stop().expect("stopping PostgreSQL");
}
