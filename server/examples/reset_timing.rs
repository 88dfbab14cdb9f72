//! Does a password-reset request tell whether an address has an account?
//! `cargo run --release -p server --example reset_timing`.
//!
//! Starts a private PostgreSQL and the server, signs up one account, then
//! sends `POST /api/v1/auth/password-reset` for that address and for
//! addresses no account has, in alternating order, 500 times each, and
//! reports the latency of each kind and their ratio: first with no job
//! worker (the request path alone), then with the worker running (it looks
//! each address up and mails a link after the answer, so its work for one
//! request overlaps the next). The status and body are compared on every
//! pair. The per-address mail limits are lifted for the run.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use server::config::Config;
use server::rate_limit::Budget;

const PAIRS: usize = 500;

fn report(label: &str, mut known: Vec<Duration>, mut unknown: Vec<Duration>) {
    known.sort();
    unknown.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (what, times) in [("has an account", &known), ("has none", &unknown)] {
        println!(
            "| {label} | {what} | {} | {:.3} | {:.3} | {:.3} |",
            times.len(),
            ms(common::percentile(times, 0.5)),
            ms(common::percentile(times, 0.9)),
            ms(common::percentile(times, 0.99)),
        );
    }
    println!(
        "| {label} | median ratio none / account | | {:.3} | | |",
        ms(common::percentile(&unknown, 0.5)) / ms(common::percentile(&known, 0.5))
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let db = common::private_postgres(&runtime);
    runtime.block_on(async {
        let mut config = Config::from_lookup(|name| match name {
            "AGENTDECK_DATA_DIR" => Some(db.dir.path().display().to_string()),
            "AGENTDECK_API_LIMIT" => Some("1000000/60".to_owned()),
            "AGENTDECK_SEED" => Some("false".to_owned()),
            _ => None,
        })
        .expect("configuration");
        let plenty = Budget {
            requests: 1_000_000,
            window: Duration::from_secs(60),
        };
        config.limits.mail_per_recipient = plenty;
        config.limits.mail_per_ip = plenty;
        let state = server::prepare(&config, &db.database_url)
            .await
            .expect("migrating");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("the address"));
        let hub = state.hub.clone();
        let services = state.services.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));

        let http = reqwest::Client::new();
        let signup = http
            .post(format!("{base}/api/v1/auth/signup"))
            .header("origin", &base)
            .json(&json!({ "email": "known@example.com", "name": "Known",
                           "password": "correct horse battery staple" }))
            .send()
            .await
            .expect("signing up");
        assert!(signup.status().is_success());

        let ask = |email: String| {
            let request = http
                .post(format!("{base}/api/v1/auth/password-reset"))
                .header("origin", &base)
                .json(&json!({ "email": email }));
            async move {
                let started = Instant::now();
                let response = request.send().await.expect("a reset request");
                let status = response.status();
                let body = response.text().await.expect("a body");
                (started.elapsed(), status, body)
            }
        };
        // Warm up the connection and the paths.
        for i in 0..20 {
            ask("known@example.com".to_owned()).await;
            ask(format!("warm{i}@example.com")).await;
        }
        let measure = |label: &'static str| {
            let ask = &ask;
            async move {
                let mut known = Vec::with_capacity(PAIRS);
                let mut unknown = Vec::with_capacity(PAIRS);
                for i in 0..PAIRS {
                    let stranger = format!("{label}-nobody{i}@example.com");
                    let (first, second) = if i % 2 == 0 {
                        let a = ask("known@example.com".to_owned()).await;
                        (a, ask(stranger).await)
                    } else {
                        let b = ask(stranger).await;
                        (ask("known@example.com".to_owned()).await, b)
                    };
                    assert_eq!(
                        (first.1, &first.2),
                        (second.1, &second.2),
                        "the answers differ"
                    );
                    known.push(first.0);
                    unknown.push(second.0);
                }
                report(label, known, unknown);
            }
        };
        println!("| worker | address | requests | p50 ms | p90 ms | p99 ms |");
        println!("| --- | --- | --- | --- | --- | --- |");
        measure("off").await;
        let _worker = server::jobs::Worker::new(
            services.db.clone(),
            &db.database_url,
            server::jobs::Registry::server(&services),
            config.workers.clone(),
        )
        .spawn(hub.shutdown_signal());
        tokio::time::sleep(Duration::from_secs(3)).await;
        measure("on").await;
        println!("\nevery pair answered the same status and body");
        let _ = stop.send(());
        let _ = serving.await;
    });
}
