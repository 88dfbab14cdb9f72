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
        .json(&json!({ "name": "ops", "scopes": ["deployments:write", "runs:read", "runs:write", "billing:read"] }))
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
