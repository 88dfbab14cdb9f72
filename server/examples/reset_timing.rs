//! Does a password-reset request tell whether an address has an account?
//! `cargo run --release -p server --example reset_timing`.
//!
//! Starts a private PostgreSQL and the whole server (with its job worker,
//! which looks the address up and mails the link after the answer), signs
//! up one account, then sends `POST /api/v1/auth/password-reset` for that
//! address and for addresses no account has, in alternating order, 500
//! times each, and reports the latency of each kind and their ratio. The
//! status and body are compared on every pair. The per-address mail limit
//! is lifted for the run (it answers both kinds alike anyway).

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use server::config::Config;
use server::rate_limit::Budget;

const PAIRS: usize = 500;

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
        let _worker = server::jobs::Worker::new(
            state.services.db.clone(),
            &db.database_url,
            server::jobs::Registry::server(&state.services),
            config.workers.clone(),
        )
        .spawn(hub.shutdown_signal());
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
        let mut known = Vec::with_capacity(PAIRS);
        let mut unknown = Vec::with_capacity(PAIRS);
        for i in 0..PAIRS {
            let stranger = format!("nobody{i}@example.com");
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
        known.sort();
        unknown.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("| address | requests | p50 ms | p90 ms | p99 ms |");
        println!("| --- | --- | --- | --- | --- |");
        for (what, times) in [("has an account", &known), ("has none", &unknown)] {
            println!(
                "| {what} | {} | {:.3} | {:.3} | {:.3} |",
                times.len(),
                ms(common::percentile(times, 0.5)),
                ms(common::percentile(times, 0.9)),
                ms(common::percentile(times, 0.99)),
            );
        }
        println!(
            "\nmedian ratio (none / account): {:.3}; every pair answered the same status and body",
            ms(common::percentile(&unknown, 0.5)) / ms(common::percentile(&known, 0.5))
        );
        let _ = stop.send(());
        let _ = serving.await;
    });
}
