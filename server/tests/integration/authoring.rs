//! Authoring over the REST API: an agent from a template, its draft saved
//! over revisions with syntax diagnostics, test runs in the real sandbox,
//! immutable semver versions, visibility, forks, and API-key scopes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, error_of};

async fn author(app: &TestApp) -> Browser {
    Browser::sign_up(app, "ada@example.com", "Ada Lovelace")
        .await
        .0
}

async fn create(browser: &mut Browser, body: Value) -> (StatusCode, Value) {
    browser.post("/api/v1/agents", body).await
}

/// The draft as a `PUT` body with `source` replaced.
fn changes(draft: &Value, source: &str) -> Value {
    json!({
        "revision": draft["revision"],
        "listing": draft["listing"],
        "readme": draft["readme"],
        "source": source,
        "manifest": draft["manifest"],
        "example_input": draft["example_input"],
    })
}

const GREETER: &str = r#"export default function run(input, ctx) {
  ctx.log.info("greeting " + input.name);
  return { greeting: `Hello, ${input.name}!` };
}
"#;

const BROKEN: &str = "export default function run(input) {\n  return { ok: true };\n}\nlet = ;\n";

#[tokio::test]
async fn an_author_writes_tests_and_publishes_an_agent() {
    let app = TestApp::spawn().await;
    let mut ada = author(&app).await;

    let (status, templates) = ada.get("/api/v1/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        templates.as_array().is_some_and(|t| t.len() >= 4),
        "{templates}"
    );

    let (status, created) = create(
        &mut ada,
        json!({ "name": "Haiku Helper", "template": "blank" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["slug"], "haiku-helper");

    // Unpublished: the author sees it, nobody else does, and it is not listed.
    let (status, _) = app.get_json("/api/v1/agents/haiku-helper").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = app.get_json("/api/v1/agents?q=haiku").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "{page}");

    let (status, draft) = ada.get("/api/v1/agents/haiku-helper/draft").await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["revision"], 1);
    assert_eq!(draft["diagnostics"], json!([]));

    // A syntax error comes back as a diagnostic at its line.
    let (status, saved) = ada
        .put("/api/v1/agents/haiku-helper/draft", changes(&draft, BROKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["revision"], 2);
    assert_eq!(saved["diagnostics"][0]["line"], 4, "{saved}");

    // A broken draft cannot be published.
    let (status, body) = ada
        .post(
            "/api/v1/agents/haiku-helper/versions",
            json!({ "version": "1.0.0", "changelog": "First" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "source");

    // A save based on an old revision is refused, and nothing is lost.
    let (status, body) = ada
        .put(
            "/api/v1/agents/haiku-helper/draft",
            changes(&draft, GREETER),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_of(&body, "conflict")["field"], "revision");

    let mut fixed = changes(&draft, GREETER);
    fixed["revision"] = json!(2);
    fixed["readme"] = json!("# Haiku Helper\n\nGreets you.");
    fixed["listing"]["summary"] = json!("Writes a haiku greeting for anyone you name");
    fixed["listing"]["tags"] = json!(["Poetry", "greeting", "poetry"]);
    fixed["example_input"] = json!(r#"{"name": "Ada"}"#);
    let (status, saved) = ada.put("/api/v1/agents/haiku-helper/draft", fixed).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["diagnostics"], json!([]));

    // A test run of the editor's text in the real sandbox.
    let (status, run) = ada
        .post(
            "/api/v1/agents/haiku-helper/test-runs",
            json!({ "source": GREETER, "manifest": {}, "input": r#"{"name":"Grace"}"# }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let output: Value =
        serde_json::from_str(run["output"].as_str().expect("output")).expect("json");
    assert_eq!(output, json!({ "greeting": "Hello, Grace!" }));
    assert_eq!(run["logs"][0]["message"], "greeting Grace");
    assert!(run["duration_us"].as_u64().is_some_and(|us| us > 0));
    assert!(run["fuel_used"].as_u64().is_some_and(|fuel| fuel > 0));

    // Errors point at their line; bad input names the field.
    let (_, failed) = ada
        .post(
            "/api/v1/agents/haiku-helper/test-runs",
            json!({ "source": BROKEN, "manifest": {}, "input": "{}" }),
        )
        .await;
    assert_eq!(failed["error"]["code"], "syntax_error", "{failed}");
    assert_eq!(failed["error"]["line"], 4);
    let (status, body) = ada
        .post(
            "/api/v1/agents/haiku-helper/test-runs",
            json!({ "source": GREETER, "manifest": {}, "input": "{not json" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "input");

    // Publish 1.0.0.
    let (status, version) = ada
        .post(
            "/api/v1/agents/haiku-helper/versions",
            json!({ "version": "1.0.0", "changelog": "First release" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!(version["version"], "1.0.0");

    // Now public, listed, with the draft's listing and capabilities.
    let (status, page) = app.get_json("/api/v1/agents/haiku-helper").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["summary"],
        "Writes a haiku greeting for anyone you name"
    );
    assert_eq!(page["tags"], json!(["poetry", "greeting"]));
    assert_eq!(page["latest"]["version"], "1.0.0");
    assert_eq!(page["latest"]["manifest"]["capabilities"]["llm"], false);
    assert!(
        page["readme_html"]
            .as_str()
            .is_some_and(|h| h.contains("<h1>Haiku Helper</h1>"))
    );
    assert_eq!(page["viewer"]["can_edit"], false);

    // The same version again, or a lower one, is refused with a clear message.
    for (again, needle) in [("1.0.0", "published already"), ("0.9.0", "lower than")] {
        let (status, body) = ada
            .post(
                "/api/v1/agents/haiku-helper/versions",
                json!({ "version": again, "changelog": "" }),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}: {body}");
        let error = error_of(&body, "conflict");
        assert_eq!(error["field"], "version");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle)),
            "{body}"
        );
    }
    let (status, body) = ada
        .post(
            "/api/v1/agents/haiku-helper/versions",
            json!({ "version": "1.0", "changelog": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "version");

    // The draft moves on; the published version's code does not.
    let (_, draft) = ada.get("/api/v1/agents/haiku-helper/draft").await;
    let mut next = changes(
        &draft,
        "export default function run() { return { v: 2 }; }\n",
    );
    next["listing"] = draft["listing"].clone();
    let (status, _) = ada.put("/api/v1/agents/haiku-helper/draft", next).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v1) = app
        .get_json("/api/v1/agents/haiku-helper/versions/1.0.0")
        .await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["source"], GREETER);
    assert_eq!(v1["changelog"], "First release");
    assert_eq!(v1["published_by"]["handle"], "ada");
    assert_eq!(v1["content_hash"].as_str().map(str::len), Some(64));

    // Not even the database lets a version change or disappear.
    let mut sql = app.sql().await;
    for statement in [
        "UPDATE agent_versions SET source = 'export default () => 1' WHERE version = '1.0.0'",
        "DELETE FROM agent_versions WHERE version = '1.0.0'",
    ] {
        let result =
            diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut sql).await;
        assert!(result.is_err(), "{statement} was allowed");
    }

    let (status, version) = ada
        .post(
            "/api/v1/agents/haiku-helper/versions",
            json!({ "version": "1.1.0", "changelog": "Second" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    let (_, versions) = app.get_json("/api/v1/agents/haiku-helper/versions").await;
    let listed: Vec<&str> = versions
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_str())
        .collect();
    assert_eq!(listed, ["1.1.0", "1.0.0"]);
    let (_, v1) = app
        .get_json("/api/v1/agents/haiku-helper/versions/1.0.0")
        .await;
    assert_eq!(v1["source"], GREETER);
}

#[tokio::test]
async fn visibility_and_unpublishing_decide_who_sees_an_agent() {
    let app = TestApp::spawn().await;
    let mut ada = author(&app).await;
    create(&mut ada, json!({ "name": "Quiet Agent" })).await;
    let (status, _) = ada
        .post(
            "/api/v1/agents/quiet-agent/versions",
            json!({ "version": "0.1.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let listed = |page: &Value| {
        page["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|a| a["slug"] == "quiet-agent"))
    };
    let (_, page) = app.get_json("/api/v1/agents?q=quiet").await;
    assert!(listed(&page), "{page}");

    let (status, detail) = ada
        .patch(
            "/api/v1/agents/quiet-agent",
            json!({ "visibility": "unlisted" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["visibility"], "unlisted");
    let (_, page) = app.get_json("/api/v1/agents?q=quiet").await;
    assert!(!listed(&page));
    assert_eq!(
        app.get_json("/api/v1/agents/quiet-agent").await.0,
        StatusCode::OK
    );

    ada.patch(
        "/api/v1/agents/quiet-agent",
        json!({ "visibility": "private" }),
    )
    .await;
    assert_eq!(
        app.get_json("/api/v1/agents/quiet-agent").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = ada.get("/api/v1/agents/quiet-agent").await;
    assert_eq!(status, StatusCode::OK, "the author still sees it");

    ada.patch(
        "/api/v1/agents/quiet-agent",
        json!({ "visibility": "public", "published": false }),
    )
    .await;
    assert_eq!(
        app.get_json("/api/v1/agents/quiet-agent").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, versions) = ada.get("/api/v1/agents/quiet-agent/versions").await;
    assert_eq!(
        versions.as_array().map(Vec::len),
        Some(1),
        "versions are kept"
    );
    ada.patch("/api/v1/agents/quiet-agent", json!({ "published": true }))
        .await;
    assert_eq!(
        app.get_json("/api/v1/agents/quiet-agent").await.0,
        StatusCode::OK
    );

    // Someone else can neither edit nor publish it.
    let (mut grace, _) = Browser::sign_up(&app, "grace@example.com", "Grace Hopper").await;
    for (method, path, body) in [
        (Method::GET, "/api/v1/agents/quiet-agent/draft", None),
        (
            Method::POST,
            "/api/v1/agents/quiet-agent/versions",
            Some(json!({ "version": "9.0.0" })),
        ),
        (
            Method::PATCH,
            "/api/v1/agents/quiet-agent",
            Some(json!({ "visibility": "private" })),
        ),
    ] {
        let (status, body) = grace.json(method, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (status, _) = Browser::new(&app)
        .get("/api/v1/agents/quiet-agent/draft")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forks_copy_the_newest_version_into_the_forkers_workspace() {
    let app = TestApp::spawn().await;
    let (mut grace, _) = Browser::sign_up(&app, "grace@example.com", "Grace Hopper").await;
    let (status, fork) = create(
        &mut grace,
        json!({ "name": "My Counter", "fork_of": "content-creator" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{fork}");
    let (_, draft) = grace.get("/api/v1/agents/my-counter/draft").await;
    let (_, original) = app
        .get_json("/api/v1/agents/content-creator/versions/1.0.0")
        .await;
    assert_eq!(draft["source"], original["source"], "{draft}");
    assert_eq!(draft["manifest"], original["manifest"]);
    assert_eq!(draft["listing"]["price_credits"], 0);

    grace
        .post(
            "/api/v1/agents/my-counter/versions",
            json!({ "version": "1.0.0" }),
        )
        .await;
    let (_, page) = app.get_json("/api/v1/agents/my-counter").await;
    assert_eq!(page["forked_from"]["slug"], "content-creator", "{page}");
    assert_eq!(page["author"]["handle"], "grace");

    // Both at once, an unknown template, a taken slug: each names its field.
    for (body, status, field) in [
        (
            json!({ "name": "X", "template": "blank", "fork_of": "analytics" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "fork_of",
        ),
        (
            json!({ "name": "X", "template": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template",
        ),
        (
            json!({ "name": "X", "fork_of": "no-such-agent" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "fork_of",
        ),
        (json!({ "name": "Analytics" }), StatusCode::CONFLICT, "slug"),
        (
            json!({ "name": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({ "name": "X", "slug": "Bad Slug" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "slug",
        ),
    ] {
        let (got, answer) = create(&mut grace, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }

    let (status, own) = grace.get("/api/v1/me/agents").await;
    assert_eq!(status, StatusCode::OK);
    let slugs: Vec<&str> = own
        .as_array()
        .expect("own agents")
        .iter()
        .filter_map(|a| a["agent"]["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["my-counter"]);
}

#[tokio::test]
async fn api_keys_need_the_agents_write_scope_to_author() {
    let app = TestApp::spawn().await;
    let mut ada = author(&app).await;
    let mut tokens = Vec::new();
    for scopes in [
        json!(["agents:read"]),
        json!(["agents:read", "agents:write"]),
    ] {
        let (status, key) = ada
            .post(
                "/api/v1/api-keys",
                json!({ "name": "ci", "scopes": scopes }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        tokens.push(key["token"].as_str().expect("token").to_owned());
    }
    let post = |token: &str, path: &str, body: Value| {
        app.http
            .post(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let read_only = post(&tokens[0], "/api/v1/agents", json!({ "name": "Keyed" }))
        .await
        .expect("request");
    assert_eq!(read_only.status(), StatusCode::FORBIDDEN);
    let created = post(&tokens[1], "/api/v1/agents", json!({ "name": "Keyed" }))
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);
    let published = post(
        &tokens[1],
        "/api/v1/agents/keyed/versions",
        json!({ "version": "1.0.0", "changelog": "from CI" }),
    )
    .await
    .expect("request");
    assert_eq!(published.status(), StatusCode::CREATED);
    let run = post(
        &tokens[1],
        "/api/v1/agents/keyed/test-runs",
        json!({ "source": GREETER, "input": r#"{"name":"CI"}"#, "manifest": {"limits": {"timeout_ms": 2000}} }),
    )
    .await
    .expect("request");
    assert_eq!(run.status(), StatusCode::OK);
    let report: Value = run.json().await.expect("json");
    assert!(
        report["output"]
            .as_str()
            .is_some_and(|o| o.contains("Hello, CI!")),
        "{report}"
    );
}
