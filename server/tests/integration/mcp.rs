//! `/mcp` as its callers meet it, spoken as raw JSON-RPC over HTTP (the
//! official SDK and the conformance suite speak it in end2end/mcp*.mjs):
//! who may connect, what each caller sees and may call, what a call costs,
//! and what a hostile caller gets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, deploy_running, publish_agent};

const ECHO: &str =
    "export default async function run(input, ctx) {\n  return { echoed: input.text };\n}\n";

/// A session of `/mcp` as `token`: initialised, with its id.
struct Session<'a> {
    app: &'a TestApp,
    token: String,
    id: String,
    next: u64,
}

/// The JSON-RPC messages of an answer (JSON, or each `data:` of an event
/// stream).
async fn messages(response: reqwest::Response) -> Vec<Value> {
    let json = response.headers().get("content-type").is_some_and(|t| {
        t.to_str()
            .unwrap_or_default()
            .starts_with("application/json")
    });
    let text = response.text().await.expect("a body");
    if json {
        return vec![serde_json::from_str(&text).expect("JSON")];
    }
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| !data.is_empty())
        .map(|data| serde_json::from_str(data).expect("a JSON-RPC message"))
        .collect()
}

fn post(
    app: &TestApp,
    token: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut request = app
        .http
        .post(app.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(body);
    if let Some(id) = session {
        request = request.header("mcp-session-id", id);
    }
    request
}

impl<'a> Session<'a> {
    async fn open(app: &'a TestApp, token: &str) -> Result<Session<'a>, (StatusCode, String)> {
        let response = post(
            app,
            token,
            None,
            &json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": { "name": "agentdeck-test", "version": "1" } } }),
        )
        .send()
        .await
        .expect("initialize");
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err((status, response.text().await.unwrap_or_default()));
        }
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .expect("a session id")
            .to_owned();
        let answer = messages(response).await;
        assert_eq!(answer[0]["result"]["serverInfo"]["name"], "agentdeck");
        let initialised = post(
            app,
            token,
            Some(&id),
            &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        )
        .send()
        .await
        .expect("initialized");
        assert_eq!(initialised.status(), StatusCode::ACCEPTED);
        Ok(Session {
            app,
            token: token.to_owned(),
            id,
            next: 1,
        })
    }

    /// Sends a request; every message of the answer (notifications, then
    /// the response).
    async fn request(&mut self, method: &str, params: Value) -> Vec<Value> {
        self.next += 1;
        let body = json!({ "jsonrpc": "2.0", "id": self.next, "method": method, "params": params });
        let response = post(self.app, &self.token, Some(&self.id), &body)
            .send()
            .await
            .expect("a request");
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        messages(response).await
    }

    async fn tools(&mut self) -> Vec<String> {
        let answer = self.request("tools/list", json!({})).await;
        let last = answer.last().expect("an answer");
        last["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{last}"))
            .iter()
            .map(|tool| tool["name"].as_str().expect("a name").to_owned())
            .collect()
    }
}

async fn key(browser: &mut Browser, scopes: &[&str]) -> String {
    let (status, made) = browser
        .post(
            "/api/v1/api-keys",
            json!({ "name": "mcp", "scopes": scopes }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["token"].as_str().expect("a token").to_owned()
}

/// An echo agent with object schemas, deployed as `name`; its id.
async fn echo_deployment(browser: &mut Browser, agent: &str, name: &str) -> String {
    let slug = publish_agent(browser, agent, |draft| {
        draft["source"] = json!(ECHO);
        draft["manifest"]["input_schema"] = json!({
            "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] });
        draft["manifest"]["output_schema"] = json!({
            "type": "object", "properties": { "echoed": { "type": "string" } }, "required": ["echoed"] });
        draft["example_input"] = json!(r#"{"text": "hi"}"#);
    })
    .await;
    deploy_running(browser, json!({ "agent": slug, "name": name }))
        .await
        .0
}

#[tokio::test]
async fn a_key_with_mcp_lists_and_calls_its_workspace_running_deployments() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "mcp-owner@example.com", "Owner").await;
    let deployment = echo_deployment(&mut owner, "Echo", "Echo tool").await;
    let token = key(&mut owner, &["mcp"]).await;

    let mut session = Session::open(&app, &token).await.expect("a session");
    let answer = session.request("tools/list", json!({})).await;
    let tools = answer[0]["result"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    assert_eq!(tools.len(), 1, "{answer:?}");
    assert_eq!(tools[0]["name"], "Echo_tool");
    assert_eq!(tools[0]["title"], "Echo tool");
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["text"]));
    assert_eq!(tools[0]["outputSchema"]["type"], "object");

    let answer = session
        .request(
            "tools/call",
            json!({ "name": "Echo_tool", "arguments": { "text": "hi" }, "_meta": { "progressToken": 7 } }),
        )
        .await;
    let result = &answer.last().expect("a result")["result"];
    assert_eq!(result["isError"], false, "{answer:?}");
    assert_eq!(result["structuredContent"], json!({ "echoed": "hi" }));
    let progress: Vec<f64> = answer
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], 7);
            m["params"]["progress"].as_f64().expect("a number")
        })
        .collect();
    assert!(progress.len() >= 3, "{answer:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");

    // Recorded as an MCP run of the deployment, with the key.
    let (_, runs) = owner
        .get(&format!("/api/v1/deployments/{deployment}/runs"))
        .await;
    assert_eq!(runs["items"][0]["trigger"], "mcp", "{runs}");

    // Input the schema refuses, and an unknown tool.
    let answer = session
        .request(
            "tools/call",
            json!({ "name": "Echo_tool", "arguments": { "text": 5 } }),
        )
        .await;
    let result = &answer.last().expect("a result")["result"];
    assert_eq!(result["isError"], true, "{answer:?}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("input.text"))
    );
    let answer = session
        .request("tools/call", json!({ "name": "nothing", "arguments": {} }))
        .await;
    assert_eq!(answer[0]["error"]["code"], -32602, "{answer:?}");
}

#[tokio::test]
async fn who_may_not_connect_or_call_is_refused() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "mcp-a@example.com", "A").await;
    let (mut stranger, _) = Browser::sign_up(&app, "mcp-b@example.com", "B").await;
    let deployment = echo_deployment(&mut owner, "Echo A", "mine").await;
    echo_deployment(&mut stranger, "Echo B", "theirs").await;

    // No token: 401 naming where to learn how to get one.
    let response = app
        .http
        .post(app.url("/mcp"))
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        challenge.contains("resource_metadata=\"")
            && challenge.contains("/.well-known/oauth-protected-resource/mcp"),
        "{challenge}"
    );
    // A bad token: invalid_token. A cookie is no credential here.
    let (status, _) = Session::open(&app, "adk_not-a-key")
        .await
        .err()
        .expect("refused");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = owner
        .request(reqwest::Method::POST, "/mcp")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A key without mcp: 403 insufficient_scope.
    let runner = key(&mut owner, &["runs:write", "runs:read"]).await;
    let (status, body) = Session::open(&app, &runner).await.err().expect("refused");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A key sees its own workspace's tools only, and cannot call another's.
    let token = key(&mut owner, &["mcp"]).await;
    let mut session = Session::open(&app, &token).await.expect("a session");
    assert_eq!(session.tools().await, vec!["mine".to_owned()]);
    let answer = session
        .request(
            "tools/call",
            json!({ "name": "theirs", "arguments": { "text": "x" } }),
        )
        .await;
    assert_eq!(answer[0]["error"]["code"], -32602, "{answer:?}");
    // An mcp key is no runs:write key: the REST API refuses it.
    let response = app
        .http
        .post(app.url(&format!("/api/v1/deployments/{deployment}/runs")))
        .bearer_auth(&token)
        .json(&json!({ "input": { "text": "x" } }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Another key cannot use this session (the id is no credential).
    let other = key(&mut owner, &["mcp"]).await;
    let response = post(
        &app,
        &other,
        Some(&session.id),
        &json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/list" }),
    )
    .send()
    .await
    .expect("POST");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .http
        .delete(app.url("/mcp"))
        .bearer_auth(&other)
        .header("mcp-session-id", &session.id)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        session.tools().await.len(),
        1,
        "the session is still the owner's"
    );

    // A stopped deployment is no tool, and cannot be called.
    let (status, body) = owner
        .post(&format!("/api/v1/deployments/{deployment}/stop"), json!({}))
        .await;
    assert!(status.is_success(), "{body}");
    for _ in 0..200 {
        if session.tools().await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(session.tools().await.is_empty());
    let answer = session
        .request(
            "tools/call",
            json!({ "name": "mine", "arguments": { "text": "x" } }),
        )
        .await;
    assert_eq!(answer[0]["error"]["code"], -32602, "{answer:?}");

    // A revoked key's session ends.
    let (_, keys) = owner.get("/api/v1/api-keys").await;
    let id = keys
        .as_array()
        .and_then(|keys| {
            keys.iter()
                .find(|k| token.starts_with(k["prefix"].as_str().unwrap_or("-")))
        })
        .map(|k| k["id"].as_str().expect("id").to_owned())
        .expect("the key");
    // Its open stream (where list_changed goes) ends once the key is
    // revoked: the session is closed, not only refused at the door.
    let mut stream = app
        .http
        .get(app.url("/mcp"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session.id)
        .send()
        .await
        .expect("GET");
    assert_eq!(stream.status(), StatusCode::OK);
    let (status, _) = owner.delete(&format!("/api/v1/api-keys/{id}")).await;
    assert!(status.is_success());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the revoked key's stream is still open");
    let response = post(
        &app,
        &token,
        Some(&session.id),
        &json!({ "jsonrpc": "2.0", "id": 10, "method": "tools/list" }),
    )
    .send()
    .await
    .expect("POST");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_paid_tool_is_charged_and_refused_without_credits() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut author, _) = Browser::sign_up(&app, "mcp-author@example.com", "Author").await;
    let (mut buyer, _) = Browser::sign_up(&app, "mcp-buyer@example.com", "Buyer").await;
    let slug = publish_agent(&mut author, "Paid echo", |draft| {
        draft["source"] = json!(ECHO);
        draft["listing"]["price_credits"] = json!(60);
    })
    .await;
    deploy_running(&mut buyer, json!({ "agent": slug, "name": "paid" })).await;
    let (_, wallet) = buyer.get("/api/v1/wallet").await;
    let start = wallet["balance"].as_i64().expect("a balance");
    assert!((60..120).contains(&start), "{wallet}");
    let token = key(&mut buyer, &["mcp"]).await;
    let mut session = Session::open(&app, &token).await.expect("a session");

    // The first call is paid for; the second finds too few credits: an
    // error result saying so, and nothing more charged.
    let answer = session
        .request(
            "tools/call",
            json!({ "name": "paid", "arguments": { "text": "a" } }),
        )
        .await;
    let result = &answer.last().expect("a result")["result"];
    assert_eq!(result["isError"], false, "{answer:?}");
    let (_, wallet) = buyer.get("/api/v1/wallet").await;
    assert_eq!(wallet["balance"], start - 60, "{wallet}");
    let answer = session
        .request(
            "tools/call",
            json!({ "name": "paid", "arguments": { "text": "b" } }),
        )
        .await;
    let result = &answer.last().expect("a result")["result"];
    assert_eq!(result["isError"], true, "{answer:?}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("credits")),
        "{result}"
    );
    let (_, wallet) = buyer.get("/api/v1/wallet").await;
    assert_eq!(wallet["balance"], start - 60, "{wallet}");
}

#[tokio::test]
async fn one_key_holds_a_bounded_number_of_sessions() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "mcp-many@example.com", "Many").await;
    let token = key(&mut owner, &["mcp"]).await;
    let mut sessions = Vec::new();
    for _ in 0..server::mcp::sessions::PER_KEY {
        sessions.push(Session::open(&app, &token).await.expect("a session"));
    }
    let (status, body) = Session::open(&app, &token).await.err().expect("refused");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Ending one makes room.
    let ended = sessions.pop().expect("one");
    let response = app
        .http
        .delete(app.url("/mcp"))
        .bearer_auth(&token)
        .header("mcp-session-id", &ended.id)
        .send()
        .await
        .expect("DELETE");
    assert!(response.status().is_success(), "{}", response.status());
    Session::open(&app, &token).await.expect("room again");
}
