//! The language model, metered (issue 19, finding 2): a run's model calls
//! stop at its manifest's `llm_calls` and `llm_tokens` with a `limit`
//! error, the tokens the provider served are the tokens recorded and
//! charged, exactly, and a wallet that cannot pay a call's worst case
//! refuses it before anything is sent. Against a local chat-completions
//! stand-in, through the real OpenAI-compatible client.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// What the stand-in served.
#[derive(Default)]
struct Served {
    calls: u64,
    input: u64,
    output: u64,
    keys: Vec<String>,
}

/// A chat-completions endpoint that answers every prompt with 11 prompt
/// tokens and at most 7 answer tokens (fewer when `max_tokens` says so).
async fn stand_in() -> (String, Arc<Mutex<Served>>) {
    let served = Arc::new(Mutex::new(Served::default()));
    let router = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |State(served): State<Arc<Mutex<Served>>>,
                 headers: HeaderMap,
                 Json(body): Json<Value>| async move {
                    let answer = body["max_tokens"].as_u64().unwrap_or(7).min(7);
                    let mut served = served.lock().expect("lock");
                    served.calls += 1;
                    served.input += 11;
                    served.output += answer;
                    served.keys.push(
                        headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    Json(json!({
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [{ "index": 0, "finish_reason": "stop",
                                      "message": { "role": "assistant", "content": "ok" } }],
                        "usage": { "prompt_tokens": 11, "completion_tokens": answer,
                                   "total_tokens": 11 + answer }
                    }))
                },
            ),
        )
        .with_state(served.clone());
    let base = crate::support::serve_stand_in(router).await;
    (format!("{base}/v1"), served)
}

/// Calls the model until it is refused; how many calls went through and
/// the refusal.
const LOOPER: &str = r#"
export default async function run(input, ctx) {
  let calls = 0;
  try {
    for (;;) {
      await ctx.llm.complete("hi there", { maxTokens: (input && input.max) || 50 });
      calls++;
    }
  } catch (e) {
    return { calls, error: String((e && e.message) || e) };
  }
}
"#;

fn looper(body: &mut Value, limits: Value) {
    body["source"] = json!(LOOPER);
    body["manifest"] = json!({ "capabilities": { "llm": true }, "limits": limits });
}

async fn balance(browser: &mut Browser) -> i64 {
    let (status, wallet) = browser.get("/api/v1/wallet").await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    wallet["balance"].as_i64().expect("balance")
}

#[tokio::test]
async fn a_runs_model_calls_stop_at_its_limits_and_cost_exactly_their_tokens() {
    let (base, served) = stand_in().await;
    // One credit a token, both ways.
    let app = TestApp::builder()
        .workers()
        .llm(&base, "house-model=1000/1000")
        .spawn()
        .await;
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let workspace: uuid::Uuid = me["workspaces"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("workspace");
    crate::support::grant_credits(&mut app.sql().await, workspace, 10_000).await;
    let slug = crate::support::publish_agent(&mut ada, "Chatter", |body| {
        looper(body, json!({ "llm_calls": 5 }));
    })
    .await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": slug })).await;

    // A deployment's run: five calls, then `limit`.
    let before = balance(&mut ada).await;
    let (status, run) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": {} }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["output"]["calls"], 5, "{run}");
    let error = run["output"]["error"].as_str().expect("error");
    assert!(
        error.starts_with("limit:") && error.contains("llm_calls"),
        "{error}"
    );
    let (served_calls, served_tokens) = {
        let s = served.lock().expect("lock");
        (s.calls, (s.input, s.output))
    };
    assert_eq!(served_calls, 5);
    let (_, shown) = ada
        .get(&format!("/api/v1/runs/{}", run["id"].as_str().expect("id")))
        .await;
    let llm = &shown["llm"];
    assert_eq!(
        (
            llm["calls"].as_u64(),
            llm["input_tokens"].as_u64(),
            llm["output_tokens"].as_u64()
        ),
        (Some(5), Some(served_tokens.0), Some(served_tokens.1)),
        "{shown}"
    );
    let tokens = served_tokens.0 + served_tokens.1;
    assert_eq!(llm["credits"].as_u64(), Some(tokens), "{shown}");
    assert_eq!(
        before - balance(&mut ada).await,
        tokens as i64,
        "the wallet paid exactly that"
    );
    let (_, wallet) = ada.get("/api/v1/wallet").await;
    assert_eq!(wallet["held"], 0, "nothing stays held: {wallet}");
    assert!(
        served
            .lock()
            .expect("lock")
            .keys
            .iter()
            .all(|k| k == "Bearer sk-operator"),
        "the operator's key"
    );

    // A deployment's monthly spend cap counts its model calls: with 30
    // credits left under it, the calls stop once their worst case would
    // pass it, and the month's spend stays within the cap.
    let cap_path = format!("/api/v1/deployments/{id}/spend-cap");
    let (_, shown) = ada
        .put(&cap_path, json!({ "monthly_credits": 1_000_000 }))
        .await;
    let spent = shown["spent_this_month"].as_i64().expect("spent");
    assert_eq!(spent, tokens as i64, "the model calls count: {shown}");
    let (status, capped) = ada
        .put(
            &format!("/api/v1/deployments/{id}/spend-cap"),
            json!({ "monthly_credits": spent + 30 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{capped}");
    let (_, run) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": {} }),
        )
        .await;
    let error = run["output"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("spend cap"), "{run}");
    assert!(run["output"]["calls"].as_i64() < Some(5), "{run}");
    let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert!(
        shown["spent_this_month"].as_i64() <= Some(spent + 30),
        "{shown}"
    );
    let (status, _) = ada
        .put(
            &format!("/api/v1/deployments/{id}/spend-cap"),
            json!({ "monthly_credits": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // With the workspace's own key (a secret the agent never sees): the
    // provider hears that key, tokens are recorded, nothing is charged.
    let (status, _) = ada
        .put(
            &format!("/api/v1/deployments/{id}/secrets"),
            json!({ "LLM_API_KEY": "sk-workspace" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = balance(&mut ada).await;
    let (_, run) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": {} }),
        )
        .await;
    assert_eq!(run["output"]["calls"], 5, "{run}");
    let (_, shown) = ada
        .get(&format!("/api/v1/runs/{}", run["id"].as_str().expect("id")))
        .await;
    assert_eq!(shown["llm"]["calls"], 5, "{shown}");
    assert!(shown["llm"]["input_tokens"].as_u64() > Some(0), "{shown}");
    assert_eq!(shown["llm"]["credits"], 0, "{shown}");
    assert_eq!(balance(&mut ada).await, before);
    assert_eq!(
        served.lock().expect("lock").keys.last().map(String::as_str),
        Some("Bearer sk-workspace")
    );

    // An editor's test run: stopped by its tokens, charged to the
    // agent's workspace in the test runs' own usage.
    let before = balance(&mut ada).await;
    let served_before = {
        let s = served.lock().expect("lock");
        (s.calls, s.input + s.output)
    };
    let (status, report) = ada
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": LOOPER, "input": "{}",
                    "manifest": { "capabilities": { "llm": true },
                                  "limits": { "llm_calls": 100, "llm_tokens": 200 } } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let output: Value =
        serde_json::from_str(report["output"].as_str().expect("output")).expect("json");
    let error = output["error"].as_str().expect("error");
    assert!(
        error.starts_with("limit:") && error.contains("llm_tokens"),
        "{error}"
    );
    let (calls, tokens) = {
        let s = served.lock().expect("lock");
        (
            s.calls - served_before.0,
            s.input + s.output - served_before.1,
        )
    };
    assert!(calls > 1 && tokens <= 200, "{calls} calls, {tokens} tokens");
    assert_eq!(report["llm"]["calls"].as_u64(), Some(calls), "{report}");
    assert_eq!(
        report["llm"]["input_tokens"].as_u64().unwrap_or(0)
            + report["llm"]["output_tokens"].as_u64().unwrap_or(0),
        tokens
    );
    assert_eq!(report["llm"]["credits"].as_u64(), Some(tokens), "{report}");
    assert_eq!(before - balance(&mut ada).await, tokens as i64);
    #[derive(diesel::QueryableByName)]
    struct Usage {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        credits: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tokens: i64,
    }
    let usage: Usage = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT llm_credits AS credits, llm_input_tokens + llm_output_tokens AS tokens \
             FROM trial_runs WHERE kind = 'test'",
        ),
        &mut app.sql().await,
    )
    .await
    .expect("the test run's usage");
    assert_eq!(
        (usage.credits, usage.tokens),
        (tokens as i64, tokens as i64)
    );
}

#[tokio::test]
async fn a_wallet_short_of_a_calls_worst_case_refuses_it_before_it_is_sent() {
    let (base, served) = stand_in().await;
    let app = TestApp::builder()
        .llm(&base, "house-model=1000/1000")
        .spawn()
        .await;
    // The starter credits (100) cannot pay a call that may use 500 tokens.
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let (status, created) = bob.post("/api/v1/agents", json!({ "name": "Big" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug");
    let before = balance(&mut bob).await;
    let (status, report) = bob
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": LOOPER, "input": "{\"max\": 500}",
                    "manifest": { "capabilities": { "llm": true } } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let output: Value =
        serde_json::from_str(report["output"].as_str().expect("output")).expect("json");
    assert_eq!(output["calls"], 0, "{output}");
    let error = output["error"].as_str().expect("error");
    assert!(
        error.starts_with("limit:") && error.contains("wallet"),
        "{error}"
    );
    assert_eq!(served.lock().expect("lock").calls, 0, "nothing was sent");
    assert_eq!(balance(&mut bob).await, before, "nothing was charged");

    // A model the operator does not offer is refused the same way.
    let (_, report) = bob
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": "export default async function run(i, ctx) { return await ctx.llm.complete('x', { model: 'o9' }); }",
                    "input": "{}", "manifest": { "capabilities": { "llm": true } } }),
        )
        .await;
    assert!(
        report["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not offered")),
        "{report}"
    );
    assert_eq!(served.lock().expect("lock").calls, 0);
}

/// Holds no run will settle (a run cancelled mid-call, a server that died)
/// go back to the wallet once they are an hour old, once.
#[tokio::test]
async fn unsettled_holds_are_given_back_by_the_hourly_sweep() {
    let app = TestApp::spawn().await;
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let workspace: uuid::Uuid = me["workspaces"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("workspace");
    let before = balance(&mut ada).await;
    {
        let mut conn = app.services.conn().await.expect("a connection");
        let [(wallet, _), (held, _)] = service::ledger::accounts(
            &mut conn,
            [
                (service::ledger::Account::Wallet, Some(workspace)),
                (service::ledger::Account::Held, Some(workspace)),
            ],
        )
        .await
        .expect("accounts");
        service::ledger::post(
            &mut conn,
            service::ledger::Movement {
                key: format!("llm:run:{}:0:hold", uuid::Uuid::new_v4()),
                kind: "llm_hold",
                workspace: Some(workspace),
                run: None,
                trial: None,
                agent: None,
                memo: "Held for a model call".to_owned(),
                by: None,
                legs: vec![(wallet, -40), (held, 40)],
            },
        )
        .await
        .expect("a hold");
    }
    assert_eq!(balance(&mut ada).await, before - 40);
    assert_eq!(
        service::llm::sweep(&app.services).await.expect("sweep"),
        0,
        "too young"
    );
    // (The ledger is append-only: rather than age the hold, sweep younger.)
    let sweep = || service::llm::sweep_older_than(&app.services, std::time::Duration::ZERO);
    assert_eq!(sweep().await.expect("sweep"), 1);
    assert_eq!(sweep().await.expect("sweep"), 0, "once");
    assert_eq!(balance(&mut ada).await, before);
    let (_, wallet) = ada.get("/api/v1/wallet").await;
    assert_eq!(wallet["held"], 0, "{wallet}");
}

/// Offline (no provider configured) the stand-in answers every model for
/// nothing; a manifest asking for more than the platform allows is refused
/// with the field named, like any other limit.
#[tokio::test]
async fn offline_calls_are_free_and_model_limits_are_checked() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (_, created) = ada
        .post("/api/v1/agents", json!({ "name": "Offline" }))
        .await;
    let slug = created["slug"].as_str().expect("slug");
    let before = balance(&mut ada).await;
    let (status, report) = ada
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": "export default async function run(i, ctx) { return await ctx.llm.complete('one two three', { model: 'gpt-4o' }); }",
                    "input": "{}", "manifest": { "capabilities": { "llm": true } } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["error"].is_null(), "{report}");
    assert_eq!(report["llm"]["calls"], 1, "{report}");
    assert_eq!(report["llm"]["credits"], 0, "{report}");
    assert_eq!(balance(&mut ada).await, before);
    for (field, value) in [("llm_calls", 5_000), ("llm_tokens", 9_000_000)] {
        let (status, refused) = ada
            .post(
                &format!("/api/v1/agents/{slug}/test-runs"),
                json!({ "source": "export default async function run() { return 1; }",
                        "input": "{}", "manifest": { "limits": { field: value } } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(
            refused["error"]["field"],
            format!("manifest.limits.{field}")
        );
    }
}
