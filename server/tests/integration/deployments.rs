//! Deployments over the REST API with the server's job worker running:
//! the pipeline's statuses as live events, stop, redeploy (rollback),
//! delete, and who may see and act.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::ws::{Socket, connect_as, next_frame_within, send};

/// The next JSON frame (at most 30 s: a cold sandbox compiles the runner).
async fn next_frame(socket: &mut Socket) -> Value {
    next_frame_within(socket, Duration::from_secs(30)).await
}

/// Statuses from the topic until `last` arrives; every frame in order.
async fn statuses_until(socket: &mut Socket, last: &str, seqs: &mut Vec<i64>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let frame = next_frame(socket).await;
        assert_eq!(frame["type"], "event", "{frame}");
        seqs.push(frame["seq"].as_i64().expect("seq"));
        if frame["event"]["kind"] == "status" {
            let status = frame["event"]["status"]
                .as_str()
                .expect("status")
                .to_owned();
            seen.push(status.clone());
            if status == last {
                return seen;
            }
            assert_ne!(status, "failed", "{frame}");
        }
    }
}

#[tokio::test]
async fn a_deployment_goes_live_stops_rolls_back_and_is_deleted() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = ada
        .post(
            "/api/v1/deployments",
            json!({ "agent": "analytics", "config": { "region": "eu" } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["status"], "queued");
    assert_eq!(created["version"], "1.0.0");
    let id = created["id"].as_str().expect("id").to_owned();
    let topic = format!("deployment:{id}");

    // Follow from the start: every status, in order, none twice.
    let mut socket = connect_as(&app, &ada).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": topic, "since": 0 }),
    )
    .await;
    let mut seqs = Vec::new();
    let seen = statuses_until(&mut socket, "running", &mut seqs).await;
    assert_eq!(seen, ["queued", "building", "starting", "running"]);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(
        (&shown["status"], &shown["config"]["region"]),
        (&"running".into(), &"eu".into())
    );
    assert_eq!(shown["event_seq"].as_i64(), seqs.last().copied());

    let (status, stopping) = ada
        .post_empty(&format!("/api/v1/deployments/{id}/stop"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stopping}");
    assert_eq!(
        statuses_until(&mut socket, "stopped", &mut seqs).await,
        ["stopping", "stopped"]
    );

    // Redeploying a version (here the same, the only one) deploys anew.
    let (status, redeployed) = ada
        .post(
            &format!("/api/v1/deployments/{id}/redeploy"),
            json!({ "version": "1.0.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{redeployed}");
    assert_eq!(
        statuses_until(&mut socket, "running", &mut seqs).await,
        ["queued", "building", "starting", "running"]
    );
    let (status, body) = ada
        .post(
            &format!("/api/v1/deployments/{id}/redeploy"),
            json!({ "version": "9.9.9" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "version");

    let (_, list) = ada.get("/api/v1/deployments").await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    let (status, _) = ada.delete(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = next_frame(&mut socket).await;
    assert_eq!(deleted["event"]["kind"], "deleted", "{deleted}");
    let (status, _) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn strangers_can_neither_see_nor_follow_nor_act_on_a_deployment() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (_, created) = ada
        .post("/api/v1/deployments", json!({ "agent": "analytics" }))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, _) = eve.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = eve
        .post_empty(&format!("/api/v1/deployments/{id}/stop"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = eve.get("/api/v1/deployments").await;
    assert_eq!(list["items"], json!([]));

    let mut socket = connect_as(&app, &eve).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": 0 }),
    )
    .await;
    let refused = next_frame(&mut socket).await;
    assert_eq!(
        (&refused["type"], &refused["code"]),
        (&"error".into(), &"unknown_topic".into())
    );
    // The owner's socket is allowed and gets the history.
    let mut socket = connect_as(&app, &ada).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": 0 }),
    )
    .await;
    let first = next_frame(&mut socket).await;
    assert_eq!(
        (first["seq"].as_i64(), &first["event"]["status"]),
        (Some(1), &"queued".into())
    );

    for (body, field) in [
        (
            json!({ "agent": "analytics", "version": "0.0.1" }),
            "version",
        ),
        (
            json!({ "agent": "analytics", "config": { "n": 1 } }),
            "config",
        ),
        (
            json!({ "agent": "analytics", "name": "x".repeat(81) }),
            "name",
        ),
    ] {
        let (status, error) = ada.post("/api/v1/deployments", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field);
    }
    let (status, _) = ada
        .post("/api/v1/deployments", json!({ "agent": "no-such-agent" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Polls the deployment until it is `running`.
async fn wait_running(browser: &mut Browser, id: &str) {
    for _ in 0..600 {
        let (_, shown) = browser.get(&format!("/api/v1/deployments/{id}")).await;
        match shown["status"].as_str() {
            Some("running") => return,
            Some("failed") => panic!("the deployment failed: {shown}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("the deployment did not come up");
}

#[tokio::test]
async fn runs_answer_synchronously_or_later_once_per_idempotency_key() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, created) =
        crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let mut socket = connect_as(&app, &ada).await;
    let since = created["event_seq"].as_i64().expect("event_seq");
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": since }),
    )
    .await;

    let (_, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "runs", "scopes": ["runs:write"] }),
        )
        .await;
    let token = key["token"].as_str().expect("token").to_owned();
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    let runs_path = app.url(&format!("/api/v1/deployments/{id}/runs"));
    let response = app
        .http
        .post(&runs_path)
        .bearer_auth(&token)
        .header("idempotency-key", "order-1")
        .json(&json!({ "input": example["input"] }))
        .send()
        .await
        .expect("a run");
    assert_eq!(response.status(), StatusCode::OK);
    let run: Value = response.json().await.expect("json");
    assert_eq!(
        (&run["status"], &run["trigger"]),
        (&"succeeded".into(), &"api".into()),
        "{run}"
    );
    assert!(run["output"].is_object(), "{run}");
    assert!(run["duration_us"].as_i64() > Some(0));
    let run_id = run["id"].as_str().expect("id").to_owned();

    // The same key again: the same run, not a second one.
    let again: Value = app
        .http
        .post(&runs_path)
        .bearer_auth(&token)
        .header("idempotency-key", "order-1")
        .json(&json!({ "input": example["input"] }))
        .send()
        .await
        .expect("a run")
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"], run_id.as_str());
    let (_, shown) = ada.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(shown["output"], run["output"]);
    let (_, list) = ada.get(&format!("/api/v1/deployments/{id}/runs")).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");

    // The deployment's topic told of it: running, then succeeded.
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("succeeded") {
        let frame = next_frame(&mut socket).await;
        if frame["event"]["kind"] == "run" {
            assert_eq!(frame["event"]["run"], run_id.as_str());
            statuses.push(
                frame["event"]["status"]
                    .as_str()
                    .expect("status")
                    .to_owned(),
            );
        }
    }
    assert_eq!(statuses, ["running", "succeeded"]);

    // Asynchronously: 202 at once, done by a worker.
    let (status, queued) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": example["input"], "mode": "async" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["trigger"], "ui");
    let queued_id = queued["id"].as_str().expect("id").to_owned();
    let mut done = Value::Null;
    for _ in 0..400 {
        let (_, shown) = ada.get(&format!("/api/v1/runs/{queued_id}")).await;
        if !matches!(shown["status"].as_str(), Some("queued" | "running")) {
            done = shown;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["output"], run["output"],
        "the same input, the same answer"
    );

    // The charts' numbers: both runs, none failed, with durations.
    let (status, metrics) = ada
        .get(&format!("/api/v1/deployments/{id}/metrics?minutes=5"))
        .await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    let buckets = metrics["buckets"].as_array().expect("buckets");
    let total: i64 = buckets
        .iter()
        .map(|b| b["runs"].as_i64().expect("runs"))
        .sum();
    let failed: i64 = buckets
        .iter()
        .map(|b| b["failed"].as_i64().expect("failed"))
        .sum();
    assert_eq!((total, failed), (2, 0), "{metrics}");
    assert!(buckets.iter().all(|b| b["p50_us"].as_i64() > Some(0) && b["p95_us"].as_i64() >= b["p50_us"].as_i64()));
    let (status, body) = ada
        .get(&format!("/api/v1/deployments/{id}/metrics?minutes=0"))
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &"minutes".into())
    );

    // Bad requests name their field; a stopped deployment runs nothing.
    let (status, body) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "mode": "later" }),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &"mode".into())
    );
    let (_, mut eve_key) = (0, Browser::sign_up(&app, "eve@example.com", "Eve").await.0);
    let (status, _) = eve_key
        .post(&format!("/api/v1/deployments/{id}/runs"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stranger cannot run it");
    let (status, _) = eve_key.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor read its runs");
    let (status, _) = eve_key
        .get(&format!("/api/v1/deployments/{id}/metrics"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor its metrics");
    ada.post_empty(&format!("/api/v1/deployments/{id}/stop"))
        .await;
    let (status, body) = ada
        .post(&format!("/api/v1/deployments/{id}/runs"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn secrets_reach_runs_sealed_and_are_never_shown_again() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    // An agent that reads the secret TOKEN.
    let source = "export default function run(input, ctx) {\n  ctx.log.info(\"reading the token\");\n  return { length: ctx.secrets.get(\"TOKEN\").length };\n}\n";
    let slug = publish_agent(
        &mut ada,
        "Token reader",
        source,
        json!({ "secrets": ["TOKEN"] }),
    )
    .await;

    let (status, body) = ada
        .post(
            "/api/v1/deployments",
            json!({ "agent": slug, "secrets": { "9LIVES": "x" } }),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &"secrets".into())
    );
    let (status, created) = ada
        .post(
            "/api/v1/deployments",
            json!({ "agent": slug, "secrets": { "TOKEN": "s3cret-value" } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["secrets"], json!(["TOKEN"]));
    assert!(
        !created.to_string().contains("s3cret-value"),
        "never shown again"
    );
    let id = created["id"].as_str().expect("id").to_owned();
    wait_running(&mut ada, &id).await;

    let mut socket = connect_as(&app, &ada).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": 0 }),
    )
    .await;
    let first = run_once(&mut ada, &id).await;
    assert_eq!(first["output"], json!({ "length": 12 }), "{first}");
    // Its log line went out live, tied to the run.
    loop {
        let frame = next_frame(&mut socket).await;
        if frame["event"]["kind"] == "log" && frame["event"]["run"] == first["id"] {
            assert_eq!(frame["event"]["message"], "reading the token");
            break;
        }
    }

    // Sealed in the database: the value is not there in the clear.
    let mut conn = app.sql().await;
    #[derive(diesel::QueryableByName)]
    struct Sealed {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        ciphertext: Vec<u8>,
    }
    let sealed: Vec<Sealed> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT ciphertext FROM deployment_secrets"),
        &mut conn,
    )
    .await
    .expect("reading the secrets table");
    assert_eq!(sealed.len(), 1);
    assert!(
        !sealed[0]
            .ciphertext
            .windows(12)
            .any(|w| w == b"s3cret-value")
    );

    let secrets_path = format!("/api/v1/deployments/{id}/secrets");
    let (status, changed) = ada.put(&secrets_path, json!({ "TOKEN": "xy" })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(!changed.to_string().contains("\"xy\""));
    assert_eq!(
        run_once(&mut ada, &id).await["output"],
        json!({ "length": 2 })
    );
    let (_, changed) = ada.put(&secrets_path, json!({ "TOKEN": null })).await;
    assert_eq!(changed["secrets"], json!([]));
    assert_eq!(
        run_once(&mut ada, &id).await["status"],
        "failed",
        "no secret any more"
    );
}

async fn run_once(browser: &mut Browser, id: &str) -> Value {
    let path = format!("/api/v1/deployments/{id}/runs");
    browser.post(&path, json!({ "input": {} })).await.1
}

/// Publishes 1.0.0 of a new agent of `browser` with `source` and the
/// manifest's `capabilities`; its slug.
async fn publish_agent(
    browser: &mut Browser,
    name: &str,
    source: &str,
    capabilities: Value,
) -> String {
    crate::support::publish_agent(browser, name, |draft| {
        draft["source"] = json!(source);
        draft["manifest"]["capabilities"] = capabilities;
    })
    .await
}

/// A deployment of an agent that waits on a host which accepts and never
/// answers: each of its runs stays in flight until it is cancelled.
async fn waiting_deployment(ada: &mut Browser) -> String {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = silent.local_addr().expect("an address").port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let source = format!(
        "export default function run(input, ctx) {{\n  ctx.http.fetch(\"http://127.0.0.1:{port}/\");\n  return {{ done: true }};\n}}\n"
    );
    let slug = publish_agent(
        ada,
        "Waiter",
        &source,
        json!({ "http": [format!("127.0.0.1:{port}")] }),
    )
    .await;
    crate::support::deploy_running(ada, json!({ "agent": slug }))
        .await
        .0
}

#[tokio::test]
async fn a_running_run_is_cancelled_and_stays_cancelled() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let id = waiting_deployment(&mut ada).await;

    for mode in ["async", "sync"] {
        let path = format!("/api/v1/deployments/{id}/runs");
        let body = json!({ "input": {}, "mode": mode });
        let run_id = if mode == "async" {
            let (_, run) = ada.post(&path, body).await;
            run["id"].as_str().expect("id").to_owned()
        } else {
            // The request waits for its run; cancel it from the side.
            let request = app
                .http
                .post(app.url(&path))
                .header("origin", &app.base_url)
                .header("cookie", ada.cookie.clone().expect("cookie"))
                .header("x-csrf-token", ada.csrf.clone().expect("csrf"))
                .json(&body)
                .send();
            let _pending = tokio::spawn(request);
            let mut found = None;
            for _ in 0..200 {
                let (_, list) = ada.get(&path).await;
                if let Some(run) = list["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .find(|run| run["status"] == "running")
                {
                    found = run["id"].as_str().map(str::to_owned);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            found.expect("the synchronous run running")
        };
        let run_path = format!("/api/v1/runs/{run_id}");
        for _ in 0..200 {
            let (_, run) = ada.get(&run_path).await;
            if run["status"] == "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let (status, cancelled) = ada.post_empty(&format!("{run_path}/cancel")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{cancelled}");
        assert_eq!(cancelled["status"], "cancelled", "{mode}: {cancelled}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, later) = ada.get(&run_path).await;
        assert_eq!(later["status"], "cancelled", "{mode}: it stays cancelled");
    }
}

#[tokio::test]
async fn config_changes_reach_the_next_run_and_the_feed_lists_only_your_runs() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let source = "export default function run(input, ctx) {\n  return { greeting: ctx.config.get(\"greeting\") };\n}\n";
    let slug = publish_agent(
        &mut ada,
        "Greeter",
        source,
        json!({ "config": ["greeting"] }),
    )
    .await;
    let (id, _) = crate::support::deploy_running(
        &mut ada,
        json!({ "agent": slug, "config": { "greeting": "Hi" } }),
    )
    .await;
    let first = run_once(&mut ada, &id).await;
    assert_eq!(first["output"], json!({ "greeting": "Hi" }), "{first}");

    // A value that is not text is refused by name, and nothing changes.
    let config_path = format!("/api/v1/deployments/{id}/config");
    let (status, error) = ada.put(&config_path, json!({ "greeting": 3 })).await;
    assert_eq!(
        (status, &error["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &"config".into())
    );
    let (status, _) = bob.put(&config_path, json!({ "greeting": "Hacked" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stranger");
    let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(shown["config"], json!({ "greeting": "Hi" }));

    let (status, changed) = ada.put(&config_path, json!({ "greeting": "Ahoy" })).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["config"], json!({ "greeting": "Ahoy" }));
    assert_eq!(changed["status"], "running", "no restart needed");
    let second = run_once(&mut ada, &id).await;
    assert_eq!(second["output"], json!({ "greeting": "Ahoy" }), "{second}");

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.sql().await;
    let audited: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'deployment.config_change'",
        ),
        &mut conn,
    )
    .await
    .expect("counting audit events");
    assert_eq!(audited.n, 1, "the refused change is not audited");

    // The dashboard's feed: Ada's runs, newest first; none for Bob.
    let (status, feed) = ada.get("/api/v1/runs").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let ids: Vec<&Value> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|run| &run["id"])
        .collect();
    assert_eq!(ids, [&second["id"], &first["id"]]);
    let (_, feed) = bob.get("/api/v1/runs").await;
    assert_eq!(feed["items"], json!([]));
}

#[tokio::test]
async fn a_run_whose_process_died_is_ended_by_the_keeper_and_announced() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    let mut socket = connect_as(&app, &ada).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": shown["event_seq"] }),
    )
    .await;

    // A run another process claimed and then died with: its lease is over.
    let orphan = inserted_run(
        &app,
        &id,
        "'running', 'runner:gone'",
        "now() - interval '1 second'",
    )
    .await
    .to_string();

    // The keeper (every third of the lease) ends it, and says so live.
    let event = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let frame = next_frame(&mut socket).await;
            if frame["event"]["kind"] == "run" && frame["event"]["run"] == orphan.as_str() {
                return frame["event"].clone();
            }
        }
    })
    .await
    .expect("the orphan's end announced");
    assert_eq!(event["status"], "failed", "{event}");
    let (_, run) = ada.get(&format!("/api/v1/runs/{orphan}")).await;
    assert_eq!(
        (&run["status"], &run["error"]["code"]),
        (&"failed".into(), &"interrupted".into()),
        "{run}"
    );
    assert!(run["finished_at"].is_string());
    assert_eq!(run["output"], Value::Null, "it was not run again");
}

#[tokio::test]
async fn a_cancel_that_waited_for_a_runs_end_leaves_the_end_as_it_was() {
    // The cancel reads the run queued, then waits for its row while
    // another transaction (a run's end, say) finishes it: the cancel must
    // see the finished run, not overwrite it and give its price back.
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let run_id = inserted_run(&app, &id, "'queued', NULL", "NULL").await;
    let mut conn = app.sql().await;
    for statement in [
        "BEGIN",
        "UPDATE runs SET status = 'succeeded', finished_at = now(), output = '{\"done\":1}' \
         WHERE id = $1",
    ] {
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(statement).bind::<diesel::sql_types::Uuid, _>(run_id),
            &mut conn,
        )
        .await
        .expect("the other transaction");
    }
    let cancel_path = format!("/api/v1/runs/{run_id}/cancel");
    let (cancelled, ()) = tokio::join!(ada.post_empty(&cancel_path), async {
        // Long enough for the cancel to be waiting on the run's row.
        tokio::time::sleep(Duration::from_millis(500)).await;
        diesel_async::RunQueryDsl::execute(diesel::sql_query("COMMIT"), &mut conn)
            .await
            .expect("committing the end");
    });
    let (status, cancelled) = cancelled;
    assert!(status.is_success(), "{status}: {cancelled}");
    assert_eq!(cancelled["status"], "succeeded", "{cancelled}");
    let (_, run) = ada.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(
        (&run["status"], &run["output"]),
        (&"succeeded".into(), &json!({ "done": 1 })),
        "{run}"
    );
}

#[tokio::test]
async fn a_run_started_here_that_no_task_executes_is_not_kept_alive() {
    // A start that committed after its caller went away (the request
    // dropped between the statement and the task): the run is this
    // server's, but nothing here executes it. Its lease must run out.
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let runner = app.services.runner.as_ref().expect("a runner").id.clone();
    let runner = format!("'{runner}'");
    let stranded = inserted_run(
        &app,
        &id,
        &format!("'running', {runner}"),
        "now() + interval '1 second'",
    )
    .await
    .to_string();
    assert_eq!(in_flight(&app, &id).await, (1, 1));

    // The keeper renews only what executes here: within a lease and a
    // keeper's period the run is ended, and its slot is free again.
    let run = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (_, run) = ada.get(&format!("/api/v1/runs/{stranded}")).await;
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the stranded run ended by the keeper");
    assert_eq!(
        (&run["status"], &run["error"]["code"]),
        (&"failed".into(), &"interrupted".into()),
        "{run}"
    );
    assert_eq!(in_flight(&app, &id).await, (0, 0));
}

/// A run put in the database by hand, as another process (or none) left
/// it: `status_and_runner` and `lease` are SQL (`'running', 'runner:gone'`,
/// `now() - interval '1 second'`).
async fn inserted_run(
    app: &TestApp,
    deployment: &str,
    status_and_runner: &str,
    lease: &str,
) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let mut conn = app.sql().await;
    let inserted: Inserted = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "INSERT INTO runs (deployment_id, workspace_id, status, runner, lease_until, \
                               started_at, trigger, input) \
             SELECT id, workspace_id, {status_and_runner}, {lease}, \
                    CASE WHEN {lease} IS NULL THEN NULL ELSE now() END, 'api', '{{}}' \
             FROM deployments WHERE id = $1 RETURNING id"
        ))
        .bind::<diesel::sql_types::Uuid, _>(deployment.parse::<uuid::Uuid>().expect("a uuid")),
        &mut conn,
    )
    .await
    .expect("inserting a run");
    inserted.id
}

#[derive(diesel::QueryableByName)]
struct InFlight {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    counted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    running: i64,
}

/// The deployment's own count of runs in flight, and the running runs.
async fn in_flight(app: &TestApp, id: &str) -> (i64, i64) {
    let mut conn = app.sql().await;
    let row: InFlight = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT d.runs_running::bigint AS counted, \
                    (SELECT count(*) FROM runs r WHERE r.deployment_id = d.id \
                     AND r.status = 'running') AS running \
             FROM deployments d WHERE d.id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.parse::<uuid::Uuid>().expect("a uuid")),
        &mut conn,
    )
    .await
    .expect("counting runs in flight");
    (row.counted, row.running)
}

#[tokio::test]
async fn at_most_eight_runs_fly_at_once_and_the_count_follows_every_end() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let id = waiting_deployment(&mut ada).await;
    let path = format!("/api/v1/deployments/{id}/runs");

    // Twelve synchronous runs at once: eight start (and wait), four are
    // refused at once, whichever path each start takes.
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..12 {
        let (mut ada, path, answered) = (ada.clone(), path.clone(), answered.clone());
        tokio::spawn(async move {
            let _ = answered.send(ada.post(&path, json!({ "input": {} })).await);
        });
    }
    for _ in 0..4 {
        let (status, body) = tokio::time::timeout(Duration::from_secs(30), answers.recv())
            .await
            .expect("the refusals answer at once")
            .expect("an answer");
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["field"], "deployment", "{body}");
    }
    assert_eq!(in_flight(&app, &id).await, (8, 8));

    // Queued runs wait while eight fly; cancelling three lets two of them
    // in, and the count follows every change.
    let mut queued = Vec::new();
    for _ in 0..2 {
        let (status, run) = ada
            .post(&path, json!({ "input": {}, "mode": "async" }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{run}");
        queued.push(run["id"].as_str().expect("id").to_owned());
    }
    let (_, list) = ada.get(&path).await;
    let running: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|run| run["status"] == "running")
        .map(|run| run["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(running.len(), 8, "{list}");
    for run in &running[..3] {
        let (status, cancelled) = ada.post_empty(&format!("/api/v1/runs/{run}/cancel")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{cancelled}");
    }
    let mut counts = in_flight(&app, &id).await;
    for _ in 0..400 {
        if counts == (7, 7) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        counts = in_flight(&app, &id).await;
    }
    assert_eq!(
        counts,
        (7, 7),
        "the two queued runs took two of the free places"
    );
    for run in &queued {
        let (_, run) = ada.get(&format!("/api/v1/runs/{run}")).await;
        assert_eq!(run["status"], "running", "{run}");
    }

    // Everything cancelled: nothing counted in flight.
    let (_, list) = ada.get(&path).await;
    for run in list["items"].as_array().expect("items") {
        if run["status"] == "running" || run["status"] == "queued" {
            let run = run["id"].as_str().expect("id");
            let (status, cancelled) = ada.post_empty(&format!("/api/v1/runs/{run}/cancel")).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{cancelled}");
        }
    }
    assert_eq!(in_flight(&app, &id).await, (0, 0));
}
