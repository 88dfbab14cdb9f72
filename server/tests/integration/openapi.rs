//! The OpenAPI document (`/api/v1/openapi.json`) against the router it is
//! made from: every route is an operation and every operation a route, and
//! each operation says what it takes, answers and needs.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{TestApp, json_of};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let (status, document) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{document}");
    document
}

/// Every operation of the document: (path, method, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                found.push((path.clone(), method.clone(), operation.clone()));
            }
        }
    }
    found
}

/// `path` with each `{param}` replaced by a value of its kind.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{action}" => "start",
            "{version}" => "1",
            "{id}" | "{user}" => "00000000-0000-0000-0000-000000000000",
            s if s.starts_with('{') => "nothing-here",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_says_what_it_takes_answers_and_needs() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(
        schemes.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            &"bearer".to_owned(),
            &"csrf".to_owned(),
            &"session".to_owned(),
            &"visitor".to_owned()
        ])
    );
    let scopes: HashSet<&str> = types::account::Scope::ALL
        .iter()
        .map(|scope| scope.as_str())
        .collect();

    let operations = operations(&document);
    assert!(
        operations.len() >= 80,
        "only {} operations",
        operations.len()
    );
    let mut ids = HashSet::new();
    for (path, method, operation) in &operations {
        let at = format!("{} {path}", method.to_uppercase());
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            !id.is_empty() && ids.insert(id.to_owned()),
            "{at}: operationId {id:?}"
        );
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{at}: no summary"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{at}: no tag"
        );
        let responses = operation["responses"].as_object().expect("responses");
        for status in ["429", "500"] {
            assert!(responses.contains_key(status), "{at}: no {status}");
        }
        assert!(
            responses
                .keys()
                .any(|status| ["1", "2", "3"].iter().any(|c| status.starts_with(c))),
            "{at}: no success answer"
        );
        // Security stated on each operation: public ones say so with `{}`.
        let security = operation["security"].as_array().expect("security");
        assert!(!security.is_empty(), "{at}: no security");
        for requirement in security {
            for (scheme, needs) in requirement.as_object().expect("a requirement") {
                assert!(
                    schemes.contains_key(scheme),
                    "{at}: unknown scheme {scheme}"
                );
                for scope in needs.as_array().expect("scopes") {
                    let scope = scope.as_str().unwrap_or_default();
                    assert!(scopes.contains(scope), "{at}: unknown scope {scope}");
                }
                if scheme == "session" && method != "get" {
                    assert!(
                        requirement.get("csrf").is_some(),
                        "{at}: a session must send the CSRF header"
                    );
                }
            }
        }
        // Every `{param}` of the path is a declared path parameter.
        let declared: HashSet<&str> = operation["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .filter(|param| param["in"] == "path")
                    .filter_map(|param| param["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(declared.contains(name), "{at}: {{{name}}} undeclared");
            }
        }
    }

    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} resolves to nothing"
        );
    }

    // The server functions, the document itself and the reference page.
    let paths = document["paths"].as_object().expect("paths");
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let method = method.as_str().to_lowercase();
        assert!(
            paths[path].get(&method).is_some(),
            "{method} {path} missing"
        );
    }
    for path in ["/api/v1/openapi.json", "/docs/api", "/ws", "/healthz"] {
        assert!(paths.contains_key(path), "{path} missing");
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_refs(value, into),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| collect_refs(value, into)),
        _ => {}
    }
}

/// Each documented path answers each documented method (whatever the
/// answer, never "no such route") and refuses every other method with the
/// JSON 405: the router holds exactly what the document says.
#[tokio::test]
async fn the_router_holds_exactly_the_documented_methods() {
    // Every path, five methods each: more than the API's per-address budget.
    let app = TestApp::builder()
        .limits(server::rate_limit::LimitSettings {
            api_per_ip: server::rate_limit::Budget {
                requests: 100_000,
                window: std::time::Duration::from_secs(60),
            },
            ..Default::default()
        })
        .spawn()
        .await;
    let document = document(&app).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let url = app.url(&concrete(path));
        for method in METHODS {
            let documented = item.get(method).is_some();
            let request = http.request(
                method.to_uppercase().parse::<Method>().expect("a method"),
                &url,
            );
            let request = if method == "get" || method == "delete" {
                request
            } else {
                request.json(&serde_json::json!({}))
            };
            let response = request.send().await.expect("sending");
            let status = response.status();
            let at = format!("{} {path}", method.to_uppercase());
            if documented {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{at} is documented");
                if status == StatusCode::NOT_FOUND
                    && response.headers()[reqwest::header::CONTENT_TYPE] == "application/json"
                {
                    let (_, body) = json_of(response).await;
                    let message = body["error"]["message"].as_str().unwrap_or_default();
                    assert!(!message.starts_with("no API route"), "{at}: {body}");
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{at} is not documented"
                );
                let (_, body) = json_of(response).await;
                assert_eq!(body["error"]["code"], "method_not_allowed", "{at}");
            }
        }
    }
    // A wrong method is authenticated like a right one: a bad key is
    // refused before the 405.
    let response = http
        .delete(app.url("/api/v1/agents"))
        .bearer_auth("adk_not-a-key")
        .send()
        .await
        .expect("sending");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A path the document does not have is no route at all.
    let (status, body) = app.get_json("/api/v1/not-documented").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// Routes are made only by `routes!` (server/src/router.rs), which takes
/// each path from its operation; clippy refuses the plain ways
/// (server/clippy.toml), and this refuses them even where a lint is
/// silenced: only server/src/openapi.rs, which documents what it routes,
/// may.
#[test]
fn no_route_is_made_outside_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("reading src") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") || path == root.join("openapi.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("reading a source file");
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for needle in [
                    ".route(",
                    "::route(",
                    "route_service(",
                    "nest_service(",
                    "fallback_service(",
                    "Router::from(",
                ] {
                    if line.contains(needle) {
                        offenders.push(format!("{}:{}: {needle}", path.display(), number + 1));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes made outside the document: {offenders:?}"
    );
}

/// The reference page gets its own policy (redoc styles itself inline and
/// searches in a `blob:` worker) that still loads nothing from elsewhere;
/// a server without the built web app says so in JSON.
#[tokio::test]
async fn the_reference_page_has_its_own_tight_policy() {
    let app = TestApp::spawn().await;
    let response = app.get("/docs/api").await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(policy.contains("worker-src blob:"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(
        !policy.contains("unsafe-eval") && !policy.contains("http"),
        "{policy}"
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(
        response
            .text()
            .await
            .expect("the page")
            .contains("API reference")
    );

    let bare = TestApp::builder().without_dist().spawn().await;
    let (status, body) = json_of(bare.get("/docs/api").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("openapi.json")
    );
}

/// Text with a NUL character cannot be stored: refused at the door with the
/// parameter or JSON path named, never a 500 from the database.
#[tokio::test]
async fn a_nul_character_is_refused_where_it_is() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/api/v1/agents?q=a%00b").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "q");
    let (status, body) = app.get_json("/api/v1/agents/a%00b").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = json_of(app.get("/agents/a%00b/card.png").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (mut browser, _) =
        crate::support::browser::Browser::sign_up(&app, "nul@example.com", "Nul").await;
    let (status, body) = browser
        .post(
            "/api/v1/agents",
            serde_json::json!({ "name": "ok", "workspace": "a\u{0}b" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "workspace");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL"),
        "{body}"
    );
    // Even when the rest of the body is what only a lenient parse reads
    // (an unknown field with a number no document can hold).
    let body = r#"{"name": "ok", "workspace": "a\u0000b", "x": 1e400}"#;
    let response = app
        .http
        .post(app.url("/api/v1/agents"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sending");
    let (status, answer) = json_of(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "body");
    // Server functions too.
    let (status, body) = crate::support::server_fn::post(
        &mut browser,
        "create_team",
        serde_json::json!({ "request": { "name": "a\u{0}" } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "name");
}
