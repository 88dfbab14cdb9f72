//! Limits that hold under abuse (issue 19), one test per finding as each
//! lands.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// Finding 1: a test run's in-memory store grew the server without bound.
/// It now holds at most `runtime::kv::MEMORY_MAX_BYTES` (and
/// `MEMORY_MAX_KEYS`): an agent storing 250 KB values is told the store is
/// full once it is, and can go on.
#[tokio::test]
async fn a_test_runs_store_is_bounded() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = ada
        .post("/api/v1/agents", json!({ "name": "Hoarder" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug");
    let source = r#"
export default async function run(input, ctx) {
  const big = "x".repeat(250000);
  let stored = 0;
  try {
    for (let i = 0; i < 100; i++) {
      await ctx.kv.set("k" + i, big);
      stored++;
    }
    return { stored, error: null };
  } catch (e) {
    return { stored, error: String((e && e.message) || e) };
  }
}
"#;
    let (status, run) = ada
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": source, "input": "{}",
                    "manifest": { "capabilities": { "kv": true },
                                  "limits": { "timeout_ms": 10000 } } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let output: Value =
        serde_json::from_str(run["output"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    let stored = output["stored"].as_u64().unwrap_or(0);
    let most = (runtime::kv::MEMORY_MAX_BYTES / 250_000) as u64;
    assert!(
        stored >= 1 && stored <= most,
        "stored {stored} of at most {most}: {run}"
    );
    assert!(
        output["error"].as_str().is_some_and(|e| e.contains("full")),
        "the agent is told why: {run}"
    );
}
