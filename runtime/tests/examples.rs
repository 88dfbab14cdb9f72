//! The example agents in agents/examples, run against local stand-ins for
//! the outside world: a web server to fetch from and an OpenAI-compatible
//! chat-completions endpoint.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use common::*;
use runtime::http::Fetcher;
use runtime::llm::OpenAiCompatible;
use runtime::{Capabilities, HostContext, Limits, RunError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// A small site: JSON, text, a redirect within the site and one away from it.
async fn site(elsewhere: SocketAddr) -> SocketAddr {
    let router = axum::Router::new()
        .route("/items", get(|| async { Json(json!({ "items": [{ "id": 1, "name": "first" }, { "id": 2, "name": "second" }] })) }))
        .route("/hello", get(|| async { "hello from the stand-in" }))
        .route("/moved", get(|| async { Redirect::permanent("/items") }))
        .route("/away", get(move || async move { Redirect::temporary(&format!("http://{elsewhere}/secret")) }))
        .route("/large", get(|| async { "z".repeat(3 << 20) }));
    serve(router).await
}

#[tokio::test]
async fn echo() {
    let agent = javascript(&example("echo.js")).await;
    let outcome = run(&agent, r#"{"hello":"world"}"#).await;
    assert_eq!(outcome.output(), Ok(r#"{"echo":{"hello":"world"}}"#));
}

#[tokio::test]
async fn fetcher_reaches_allowed_hosts_only() {
    let other =
        serve(axum::Router::new().route("/secret", get(|| async { "should not be reached" })))
            .await;
    let address = site(other).await;
    let agent = javascript(&example("fetcher.js")).await;
    let grants = Capabilities {
        http: vec![address.to_string(), format!("localhost:{}", address.port())],
        ..Capabilities::default()
    };

    // By default only public addresses are reachable, whatever the allow-list
    // says: a listed name that resolves inside the platform gets nowhere.
    let public_only = HostContext::new(grants.clone());
    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/items"}}"#),
        Limits::default(),
        public_only.clone(),
    )
    .await;
    let message = outcome.result.unwrap_err().to_string();
    assert!(
        message.contains(&format!("denied: {address} is not a public address")),
        "{message}"
    );
    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://localhost:{}/items"}}"#, address.port()),
        Limits::default(),
        public_only,
    )
    .await;
    let message = outcome.result.unwrap_err().to_string();
    assert!(
        message.contains("resolves only to addresses that are not public"),
        "{message}"
    );

    // The stand-ins are local, so the rest allows private networks.
    let host = HostContext::new(grants)
        .with_http(Fetcher::allowing_private_networks(Duration::from_secs(10)));

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/items"}}"#),
        Limits::default(),
        host.clone(),
    )
    .await;
    let output: Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(output["status"], 200);
    assert_eq!(output["contentType"], "application/json");
    assert_eq!(output["data"]["items"][1]["name"], "second");
    assert_eq!(
        outcome.logs[0].message,
        format!("GET http://{address}/items → 200")
    );

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/hello"}}"#),
        Limits::default(),
        host.clone(),
    )
    .await;
    let output: Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(output["preview"], "hello from the stand-in");

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/moved"}}"#),
        Limits::default(),
        host.clone(),
    )
    .await;
    let output: Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(
        output["data"]["items"][0]["id"], 1,
        "a redirect within allowed hosts is followed"
    );

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/away"}}"#),
        Limits::default(),
        host.clone(),
    )
    .await;
    let Err(RunError::Agent(failure)) = &outcome.result else {
        panic!("a redirect away is refused: {:?}", outcome.result)
    };
    assert!(
        failure
            .message
            .contains(&format!("denied: {other} is not among the hosts")),
        "{}",
        failure.message
    );

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{other}/secret"}}"#),
        Limits::default(),
        host.clone(),
    )
    .await;
    assert!(outcome.result.unwrap_err().to_string().contains("denied"));

    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/large"}}"#),
        Limits::default(),
        host,
    )
    .await;
    let Err(RunError::Agent(failure)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(
        failure.message.contains("limit: the response from"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn counter() {
    let agent = javascript(&example("counter.js")).await;
    let host = HostContext::new(Capabilities {
        kv: true,
        ..Capabilities::default()
    })
    .with_kv(Arc::new(runtime::kv::MemoryKv::new()));
    let first = run_with(&agent, "{}", Limits::default(), host.clone()).await;
    let second = run_with(&agent, "{}", Limits::default(), host).await;
    assert_eq!(
        first.output(),
        Ok(r#"{"name":"runs","count":1,"names":["runs"]}"#)
    );
    assert_eq!(
        second.output(),
        Ok(r#"{"name":"runs","count":2,"names":["runs"]}"#)
    );
}

const ARTICLE: &str = "WebAssembly sandboxes start in microseconds. They isolate memory by design. \
    Agents written in JavaScript run inside an engine compiled to WebAssembly. \
    Each run gets fresh memory, a deadline and a fuel budget.";

#[tokio::test]
async fn summarizer_offline() {
    let agent = javascript(&example("summarizer.js")).await;
    let host = HostContext::new(Capabilities {
        llm: true,
        ..Capabilities::default()
    });
    let input = json!({ "text": ARTICLE, "sentences": 1 }).to_string();
    let first = run_with(&agent, &input, Limits::default(), host.clone()).await;
    let second = run_with(&agent, &input, Limits::default(), host).await;
    let output: Value = serde_json::from_str(first.output().unwrap()).unwrap();
    assert_eq!(output["model"], "offline");
    assert!(
        output["summary"]
            .as_str()
            .unwrap()
            .starts_with("WebAssembly sandboxes start in microseconds.")
    );
    assert_eq!(
        first.output(),
        second.output(),
        "the offline model is deterministic"
    );

    let missing = run_with(
        &agent,
        "{}",
        Limits::default(),
        HostContext::new(Capabilities {
            llm: true,
            ..Capabilities::default()
        }),
    )
    .await;
    let Err(RunError::Agent(failure)) = missing.result else {
        panic!("expected the agent's own error")
    };
    assert_eq!(
        failure.message,
        "Error: give the text to summarise as input.text"
    );
}

/// What the stand-in chat-completions endpoint saw.
#[derive(Default)]
struct Seen {
    authorization: Option<String>,
    body: Option<Value>,
}

#[tokio::test]
async fn summarizer_through_an_openai_compatible_endpoint() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let router = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(|State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, Json(body): Json<Value>| async move {
                let mut seen = seen.lock().unwrap();
                seen.authorization = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned);
                seen.body = Some(body.clone());
                if body["messages"][1]["content"] == "fail please" {
                    return (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": { "message": "rate limited" } }))).into_response();
                }
                Json(json!({
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": "stand-in-model-2026",
                    "choices": [{ "index": 0, "message": { "role": "assistant", "content": " Sandboxes are fast and isolated. " }, "finish_reason": "stop" }],
                    "usage": { "prompt_tokens": 57, "completion_tokens": 6, "total_tokens": 63 }
                }))
                .into_response()
            }),
        )
        .with_state(seen.clone());
    let address = serve(router).await;
    let provider = OpenAiCompatible::new(
        format!("http://{address}/v1"),
        Some("sk-test".into()),
        "house-model".into(),
    );
    let host = HostContext::new(Capabilities {
        llm: true,
        ..Capabilities::default()
    })
    .with_llm(Arc::new(provider));
    let agent = javascript(&example("summarizer.js")).await;

    let outcome = run_with(
        &agent,
        &json!({ "text": ARTICLE }).to_string(),
        Limits::default(),
        host.clone(),
    )
    .await;
    let output: Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({ "summary": "Sandboxes are fast and isolated.", "model": "stand-in-model-2026", "words": 5 })
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.authorization.as_deref(), Some("Bearer sk-test"));
        let body = seen.body.as_ref().unwrap();
        assert_eq!(body["model"], "house-model");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], ARTICLE);
        assert_eq!(body["max_tokens"], 120);
        assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    }

    let outcome = run_with(&agent, r#"{"text":"fail please"}"#, Limits::default(), host).await;
    let Err(RunError::Agent(failure)) = outcome.result else {
        panic!("expected the provider's refusal")
    };
    assert!(
        failure
            .message
            .contains("failed: the language model answered 429"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn http_fetch_has_its_own_timeout() {
    let slow = serve(axum::Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    ))
    .await;
    let agent = javascript("export default function run(input, ctx) {\n  try { return ctx.http.fetch(input.url).body; } catch (error) { return error.message; }\n}").await;
    let host = HostContext::new(Capabilities {
        http: vec![slow.to_string()],
        ..Capabilities::default()
    })
    .with_http(Fetcher::allowing_private_networks(Duration::from_millis(
        300,
    )));
    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{slow}/slow"}}"#),
        Limits::default(),
        host,
    )
    .await;
    assert_eq!(
        outcome.output(),
        Ok(format!(r#""failed: {slow} did not answer in time""#).as_str())
    );
}
