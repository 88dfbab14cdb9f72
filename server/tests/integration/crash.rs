//! `kill -9` of the real server binary while a deployment is building and
//! while runs are in flight; after a restart every deployment settles, no
//! job is lost, no run recorded as done runs again, and nothing stays
//! `queued` or `running`.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::process::{Running, data_dir};

/// Short leases, so a killed server's jobs and runs are taken over soon.
fn short_leases(command: &mut Command) {
    command.env("AGENTDECK_JOB_LEASE_SECS", "2");
    // Enough for every paid run here.
    command.env("AGENTDECK_STARTER_CREDITS", "1000");
}

/// Signs up, follows the verification link (from the outbox of whichever
/// of `outboxes`, server data directories, runs the mail job), and answers
/// an API key that deploys and runs.
pub(crate) async fn key(base: &str, outboxes: &[&std::path::Path]) -> String {
    key_with(
        base,
        outboxes,
        &[
            "deployments:write",
            "runs:read",
            "runs:write",
            "billing:read",
        ],
    )
    .await
}

/// [`key`] with these scopes.
pub(crate) async fn key_with(base: &str, outboxes: &[&std::path::Path], scopes: &[&str]) -> String {
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{base}/api/v1/auth/signup"))
        .header("origin", base)
        .json(&json!({
            "email": "ops@example.com",
            "password": crate::support::browser::STRONG_PASSWORD,
            "name": "Ops"
        }))
        .send()
        .await
        .expect("signing up");
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = crate::support::browser::set_cookie(&response).expect("a session cookie");
    let cookie = cookie.split(';').next().expect("a pair").to_owned();
    let me: Value = response.json().await.expect("json");
    let token =
        crate::support::mail::outbox_token(outboxes, "ops@example.com", "verify-email").await;
    let verified = http
        .post(format!("{base}/api/v1/auth/verify-email"))
        .header("origin", base)
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("verifying");
    assert_eq!(verified.status(), StatusCode::OK);
    let created: Value = http
        .post(format!("{base}/api/v1/api-keys"))
        .header("origin", base)
        .header("cookie", cookie)
        .header("x-csrf-token", me["csrf_token"].as_str().expect("csrf"))
        .json(&json!({ "name": "ops", "scopes": scopes }))
        .send()
        .await
        .expect("creating a key")
        .json()
        .await
        .expect("json");
    created["token"].as_str().expect("a token").to_owned()
}

pub(crate) async fn api(
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("a request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Deploys the launch agent `analytics` with the key `token`; its id (the
/// deployment is queued).
pub(crate) async fn deploy_analytics(base: &str, token: &str) -> String {
    let body = json!({ "agent": "analytics" });
    let (status, created) = api(base, token, Method::POST, "/api/v1/deployments", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

/// Polls `path` until `done` holds for its answer (at most 120 s).
async fn until(
    base: &str,
    token: &str,
    path: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let (_, body) = api(base, token, Method::GET, path, None).await;
        if done(&body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waiting for {what}: {body}"
        );
        // Within the server's 600 requests a minute per key: a restart that
        // takes longer than 12 s at 20 ms a poll left the next call a 429.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

fn runs_by_status(list: &Value) -> HashMap<String, Vec<Value>> {
    let mut by_status: HashMap<String, Vec<Value>> = HashMap::new();
    for run in list["items"].as_array().expect("items") {
        by_status
            .entry(run["status"].as_str().expect("status").to_owned())
            .or_default()
            .push(run.clone());
    }
    by_status
}

#[tokio::test]
async fn kill_9_while_building_and_while_running_loses_and_repeats_nothing() {
    let dir = data_dir();
    let server = Running::start_with(dir.path(), short_leases).await;
    let base = server.base_url.clone();
    let token = key(&base, &[dir.path()]).await;

    // A fresh data directory: the sandbox is still compiling its runner, so
    // the first deploy waits in `building`. Kill the server there.
    let id = deploy_analytics(&base, &token).await;
    let path = format!("/api/v1/deployments/{id}");
    let building = until(&base, &token, &path, "building", |d| {
        d["status"] != "queued"
    })
    .await;
    assert_eq!(building["status"], "building", "killed while building");
    server.kill9();

    let server = Running::start_with(dir.path(), short_leases).await;
    let base = server.base_url.clone();
    let running = until(&base, &token, &path, "running after the restart", |d| {
        matches!(d["status"].as_str(), Some("running" | "failed"))
    })
    .await;
    assert_eq!(running["status"], "running", "{running}");
    // A cap no run reaches, so the deployment shows its month's spend.
    let (status, capped) = api(
        &base,
        &token,
        Method::PUT,
        &format!("{path}/spend-cap"),
        Some(json!({ "monthly_credits": 1_000_000 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{capped}");

    // Runs in flight: asynchronous ones queued for the worker, synchronous
    // ones executing in requests. Kill once some are done.
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    let runs_path = format!("/api/v1/deployments/{id}/runs");
    // All at once, so that the worker cannot finish them all before the
    // kill (one after the other, on a slow machine, it did).
    let requests = (0..30).map(|_| {
        api(
            &base,
            &token,
            Method::POST,
            &runs_path,
            Some(json!({ "input": example["input"], "mode": "async" })),
        )
    });
    let mut queued = Vec::new();
    for (status, run) in futures::future::join_all(requests).await {
        assert_eq!(status, StatusCode::ACCEPTED, "{run}");
        queued.push(run["id"].as_str().expect("id").to_owned());
    }
    for _ in 0..6 {
        let (base, token, runs_path, input) = (
            base.clone(),
            token.clone(),
            runs_path.clone(),
            example["input"].clone(),
        );
        tokio::spawn(async move {
            // Cut off by the kill: whatever it answers does not matter.
            let _ = reqwest::Client::new()
                .post(format!("{base}{runs_path}"))
                .bearer_auth(token)
                .json(&json!({ "input": input }))
                .send()
                .await;
        });
    }
    let before = until(&base, &token, &runs_path, "some runs done", |list| {
        runs_by_status(list)
            .get("succeeded")
            .is_some_and(|done| !done.is_empty())
    })
    .await;
    server.kill9();
    let in_flight = runs_by_status(&before)
        .iter()
        .filter(|(status, _)| matches!(status.as_str(), "queued" | "running"))
        .map(|(_, runs)| runs.len())
        .sum::<usize>();
    assert!(in_flight > 0, "the kill came after every run: {before}");
    let done_before: HashMap<String, Value> = runs_by_status(&before)
        .remove("succeeded")
        .unwrap_or_default()
        .into_iter()
        .map(|run| (run["id"].as_str().expect("id").to_owned(), run))
        .collect();

    let server = Running::start_with(dir.path(), short_leases).await;
    let base = server.base_url.clone();
    let after = until(&base, &token, &runs_path, "every run settled", |list| {
        let by_status = runs_by_status(list);
        !by_status.contains_key("queued") && !by_status.contains_key("running")
    })
    .await;
    let runs: HashMap<String, Value> = after["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|run| (run["id"].as_str().expect("id").to_owned(), run.clone()))
        .collect();
    for id in &queued {
        assert!(runs.contains_key(id), "the queued run {id} was lost");
    }
    for (id, run) in &runs {
        match run["status"].as_str() {
            Some("succeeded") => {}
            // Executing when the server died: ended, not run again.
            Some("failed") => assert_eq!(run["error"]["code"], "interrupted", "{run}"),
            other => panic!("run {id} ended {other:?}: {run}"),
        }
    }
    for (id, run) in &done_before {
        assert_eq!(
            (&runs[id]["status"], &runs[id]["finished_at"]),
            (&run["status"], &run["finished_at"]),
            "a run recorded as done ran again"
        );
    }
    let (_, deployment) = api(&base, &token, Method::GET, &path, None).await;
    assert_eq!(deployment["status"], "running");

    // The money: each run that succeeded was charged its price once, no
    // other run was charged, and nothing stays held.
    let price = deployment["price_credits"].as_i64().expect("a price");
    assert!(price > 0, "the runs here are paid");
    let mut succeeded = 0;
    for run in runs.values() {
        let charged = if run["status"] == "succeeded" {
            succeeded += 1;
            price
        } else {
            0
        };
        assert_eq!(run["charged_credits"], charged, "{run}");
    }
    let (_, wallet) = api(&base, &token, Method::GET, "/api/v1/wallet", None).await;
    assert_eq!(
        (&wallet["balance"], &wallet["held"]),
        (&json!(1_000 - price * succeeded), &json!(0)),
        "{wallet}"
    );
    // The spend cap's counter agrees: what the succeeded runs cost, nothing
    // for the ones given back.
    assert_eq!(
        deployment["spent_this_month"],
        json!(price * succeeded),
        "{deployment}"
    );
    assert!(server.terminate().success());
}

/// A receiver that records each delivery as it arrives and, while `hold`
/// is set, never answers (the delivery is in flight when the server dies).
#[derive(Clone, Default)]
struct Receiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    hold: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    async fn serve(&self) -> String {
        let this = self.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let this = this.clone();
                async move {
                    let id = headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    this.got
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, body));
                    while this.hold.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    "ok"
                }
            }),
        );
        format!("{}/hook", crate::support::serve_stand_in(router).await)
    }
}

#[tokio::test]
async fn kill_9_mid_delivery_loses_no_event_and_repeats_only_with_the_same_id() {
    let receiver = Receiver::default();
    receiver
        .hold
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let url = receiver.serve().await;
    let settings = |command: &mut Command| {
        short_leases(command);
        command.env("AGENTDECK_WEBHOOKS_PRIVATE", "true");
    };
    let dir = data_dir();
    let server = Running::start_with(dir.path(), settings).await;
    let base = server.base_url.clone();
    let token = key_with(
        &base,
        &[dir.path()],
        &[
            "deployments:write",
            "runs:read",
            "runs:write",
            "webhooks:write",
        ],
    )
    .await;
    let (status, made) = api(
        &base,
        &token,
        Method::POST,
        "/api/v1/webhooks/endpoints",
        Some(json!({ "url": url, "event_types": ["run.succeeded"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = deploy_analytics(&base, &token).await;
    until(
        &base,
        &token,
        &format!("/api/v1/deployments/{id}"),
        "running",
        |d| d["status"] == "running",
    )
    .await;
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    let runs_path = format!("/api/v1/deployments/{id}/runs");
    let runs = (0..10).map(|_| {
        api(
            &base,
            &token,
            Method::POST,
            &runs_path,
            Some(json!({ "input": example["input"] })),
        )
    });
    for (status, run) in futures::future::join_all(runs).await {
        assert_eq!(status, StatusCode::OK, "{run}");
    }
    // Deliveries are in flight (the receiver holds them; an endpoint has
    // at most two at once): kill the server.
    let started = Instant::now();
    while receiver.got.lock().unwrap_or_else(|e| e.into_inner()).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no delivery arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    let in_flight: std::collections::HashSet<String> = receiver
        .got
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    receiver
        .hold
        .store(false, std::sync::atomic::Ordering::SeqCst);

    let server = Running::start_with(dir.path(), settings).await;
    let started = Instant::now();
    loop {
        let distinct: std::collections::HashSet<String> = receiver
            .got
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        if distinct.len() == 10 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{} of 10 events arrived",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let any late duplicate land, then check: every repeat carries the id
    // and body of an event that was in flight at the kill.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = receiver
        .got
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut first: HashMap<String, String> = HashMap::new();
    for (id, body) in &got {
        match first.get(id) {
            Some(earlier) => {
                assert_eq!(earlier, body, "a repeat is the same event");
                assert!(
                    in_flight.contains(id),
                    "only an event in flight at the kill repeats"
                );
            }
            None => {
                first.insert(id.clone(), body.clone());
            }
        }
    }
    assert_eq!(first.len(), 10, "no event lost");
    let repeats = got.len() - first.len();
    assert!(
        repeats <= in_flight.len(),
        "{repeats} repeats, {} in flight",
        in_flight.len()
    );
    drop(server);
}
