//! The launch agents in agents/launch, each run on its own example.json with the
//! manifest it ships with: the deterministic offline model, an in-memory
//! key-value store and, for agents that fetch, a local stand-in for the web
//! sites their examples name. A directory added there is covered here.

#![expect(
    clippy::expect_used,
    reason = "a test fails by panicking, with the reason"
)]

mod common;

use axum::response::Html;
use axum::routing::get;
use common::runtime;
use runtime::http::Fetcher;
use runtime::kv::MemoryKv;
use runtime::{Capabilities, HostContext, Manifest, Outcome, PreparedAgent, RunError};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const LAUNCH_AGENTS: usize = 12;
const FILES: [&str; 4] = ["README.md", "agent.js", "example.json", "manifest.json"];

/// The page seo-specialist's example audits.
const COLD_BREW_GUIDE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Northwind Roasters | Guides | How to Make Smooth Cold Brew Coffee at Home</title>
  <meta name="description" content="Our step-by-step guide to cold brew: the grind, the ratio and the steeping time for a smooth, low-acid coffee.">
</head>
<body>
  <header><a href="/"><img src="/logo.svg"></a><nav><a href="/shop">Shop</a> <a href="/guides">Guides</a></nav></header>
  <main>
    <h1>Cold Brew Coffee at Home</h1>
    <p>Cold brew is coffee steeped in cold water for twelve to eighteen hours. It tastes smooth and sweet, with less acidity than iced coffee made from hot coffee.</p>
    <h2>What you need</h2>
    <p>A large jar, a coarse grind of a medium roast, filtered water and a fine sieve or paper filter.</p>
    <img src="/img/jar.jpg" alt="A jar of cold brew steeping">
    <h4>Choosing beans</h4>
    <p>Chocolatey, nutty beans from Brazil or Colombia make a rounder cup than bright African coffees.</p>
    <h2>The ratio</h2>
    <p>Use one part coffee to eight parts water for a concentrate, and dilute it one to one with milk or water when you serve it.</p>
    <img src="/img/pour.jpg">
    <p>Read more on <a href="https://en.wikipedia.org/wiki/Cold_brew_coffee">Wikipedia</a>.</p>
  </main>
</body>
</html>
"#;

/// The company site email-outreach's example researches.
const BRIGHTLINE_HOME: &str = r#"<!doctype html>
<html lang="en">
<head>
  <title>Brightline Logistics | Same-day delivery for regional retailers</title>
  <meta name="description" content="Brightline runs same-day and next-day delivery for 120 regional retailers across the Midwest, with 340 drivers and live tracking.">
</head>
<body>
  <h1>Same-day delivery, planned in minutes</h1>
  <p>Brightline Logistics moves 18,000 parcels a day for regional retailers from four depots in Ohio and Indiana.</p>
  <h2>We are hiring dispatchers</h2>
  <p>Our fleet grew from 210 to 340 drivers this year.</p>
</body>
</html>
"#;

struct LaunchAgent {
    slug: String,
    source: String,
    manifest: Manifest,
    input: Value,
    expect: Value,
}

fn launch_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agents/launch")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn json_file<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every agent directory, in name order, checked to hold exactly its four files.
fn launch_agents() -> Vec<LaunchAgent> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(launch_dir())
        .expect("agents/launch is readable")
        .map(|entry| entry.expect("agents/launch lists").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|dir| {
            let slug = dir
                .file_name()
                .expect("a directory name")
                .to_string_lossy()
                .into_owned();
            let files: BTreeSet<String> = std::fs::read_dir(dir)
                .expect("the agent's directory is readable")
                .map(|entry| {
                    entry
                        .expect("it lists")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            assert_eq!(
                files,
                FILES.map(str::to_owned).into(),
                "{slug} holds exactly its four files"
            );
            let readme_lines = read(&dir.join("README.md")).lines().count();
            assert!(
                (30..=80).contains(&readme_lines),
                "{slug}/README.md has {readme_lines} lines"
            );
            let example: Value = json_file(&dir.join("example.json"));
            let (Some(input), Some(expect)) = (example.get("input"), example.get("expect")) else {
                panic!("{slug}/example.json needs \"input\" and \"expect\"")
            };
            assert!(
                expect.as_object().is_some_and(|keys| !keys.is_empty()),
                "{slug} expects something"
            );
            LaunchAgent {
                source: read(&dir.join("agent.js")),
                manifest: json_file(&dir.join("manifest.json")),
                input: input.clone(),
                expect: expect.clone(),
                slug,
            }
        })
        .collect()
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let address = listener.local_addr().expect("the port's address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the stand-in serves")
    });
    address
}

/// Stands in for every web site the examples name; the path picks the page.
async fn stand_in_site() -> SocketAddr {
    serve(
        axum::Router::new()
            .route("/", get(|| async { Html(BRIGHTLINE_HOME) }))
            .route(
                "/guides/cold-brew-at-home",
                get(|| async { Html(COLD_BREW_GUIDE) }),
            ),
    )
    .await
}

/// Points every URL in `value` that `grants` allow at `site`, keeping its path
/// and query, and answers how many it changed: the example's address must be
/// one the shipped manifest really allows.
fn point_at(value: &mut Value, grants: &Capabilities, site: SocketAddr) -> usize {
    match value {
        Value::String(text) => {
            let Ok(url) = url::Url::parse(text) else {
                return 0;
            };
            let allowed = matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|host| {
                    grants.allows_host(
                        host,
                        url.port_or_known_default().unwrap_or(0),
                        url.port().is_none(),
                    )
                });
            if !allowed {
                return 0;
            }
            *text = format!("http://{site}{}", &url[url::Position::BeforePath..]);
            1
        }
        Value::Array(items) => items
            .iter_mut()
            .map(|item| point_at(item, grants, site))
            .sum(),
        Value::Object(fields) => fields
            .values_mut()
            .map(|item| point_at(item, grants, site))
            .sum(),
        _ => 0,
    }
}

/// The agent's input and the host for one run: its manifest's grants, a fresh
/// store, the offline model, and for `http` the stand-in in place of the hosts.
fn host_for(agent: &LaunchAgent, site: SocketAddr) -> (Value, HostContext) {
    let mut input = agent.input.clone();
    let mut grants = agent.manifest.capabilities.clone();
    let mut host_fetcher = None;
    if !grants.http.is_empty() {
        let pointed = point_at(&mut input, &grants, site);
        assert!(
            pointed > 0,
            "{}: the example names no URL its manifest allows",
            agent.slug
        );
        grants.http = vec![site.to_string()];
        host_fetcher = Some(Fetcher::allowing_private_networks(Duration::from_secs(10)));
    }
    let kv = grants.kv;
    let mut host = HostContext::new(grants);
    if kv {
        host = host.with_kv(Arc::new(MemoryKv::new()));
    }
    if let Some(fetcher) = host_fetcher {
        host = host.with_http(fetcher);
    }
    (input, host)
}

async fn prepare(agent: &LaunchAgent) -> PreparedAgent {
    runtime()
        .prepare_javascript("agent.js", &agent.source, &agent.manifest.limits)
        .await
        .unwrap_or_else(|error| panic!("{}: the script prepares: {error}", agent.slug))
}

async fn run(
    agent: &LaunchAgent,
    prepared: &PreparedAgent,
    input: &Value,
    host: HostContext,
) -> Outcome {
    runtime()
        .run(prepared, &input.to_string(), &agent.manifest.limits, host)
        .await
}

fn output(slug: &str, outcome: &Outcome) -> Value {
    match &outcome.result {
        Ok(text) => serde_json::from_str(text).expect("the output is JSON"),
        Err(error) => panic!("{slug} failed: {error}\nlogs: {:?}", outcome.logs),
    }
}

/// The agent's own error message: the run must have failed with one.
fn agent_error(slug: &str, outcome: &Outcome) -> String {
    match &outcome.result {
        Err(RunError::Agent(failure)) => failure.message.clone(),
        other => panic!("{slug}: expected the agent's own error, got {other:?}"),
    }
}

/// Where `actual` falls short of `expected`: an object needs each expected key
/// with a matching value, recursively; arrays and everything else must be
/// equal, numbers as numbers (4 and 4.0 are the same).
fn mismatches(expected: &Value, actual: &Value, path: &str, found: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                match actual.get(key) {
                    Some(actual) => mismatches(value, actual, &format!("{path}.{key}"), found),
                    None => found.push(format!("{path}.{key} is missing")),
                }
            }
        }
        _ if equal(expected, actual) => {}
        _ => found.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| equal(a, b)))
        }
        _ => expected == actual,
    }
}

#[tokio::test]
async fn every_launch_agent_does_what_its_example_says() {
    let agents = launch_agents();
    assert_eq!(
        agents.len(),
        LAUNCH_AGENTS,
        "agents/launch holds the launch line-up"
    );
    let site = stand_in_site().await;
    let mut failures = Vec::new();
    for agent in &agents {
        let prepared = prepare(agent).await;
        let (input, host) = host_for(agent, site);
        let first = output(&agent.slug, &run(agent, &prepared, &input, host).await);
        let mut found = Vec::new();
        mismatches(&agent.expect, &first, "output", &mut found);
        failures.extend(
            found
                .into_iter()
                .map(|problem| format!("{}: {problem}", agent.slug)),
        );

        // What example.json expects must not depend on luck: a second run in a
        // fresh deployment answers the same.
        let (input, host) = host_for(agent, site);
        let second = output(&agent.slug, &run(agent, &prepared, &input, host).await);
        if first != second {
            failures.push(format!("{}: two runs of the example differ", agent.slug));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The keys a script reads with `ctx.<what>.get("KEY")`.
fn keys_read(source: &str, what: &str) -> BTreeSet<String> {
    let call = format!("ctx.{what}.get(\"");
    source
        .split(&call)
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(key, _)| key.to_owned()))
        .collect()
}

/// Deny by default: a manifest grants what its script uses, and nothing else.
#[test]
fn manifests_grant_exactly_what_the_code_uses() {
    for agent in launch_agents() {
        let grants = &agent.manifest.capabilities;
        let uses = |call: &str| agent.source.contains(&format!("ctx.{call}."));
        assert_eq!(grants.llm, uses("llm"), "{}: llm", agent.slug);
        assert_eq!(grants.kv, uses("kv"), "{}: kv", agent.slug);
        assert_eq!(
            !grants.http.is_empty(),
            uses("http"),
            "{}: http",
            agent.slug
        );
        assert!(
            grants.http.iter().all(|host| host.trim() != "*"),
            "{}: \"*\" is not a host pattern the runtime understands",
            agent.slug
        );
        let declared = |keys: &[String]| keys.iter().cloned().collect::<BTreeSet<_>>();
        assert_eq!(
            declared(&grants.config),
            keys_read(&agent.source, "config"),
            "{}: config",
            agent.slug
        );
        assert_eq!(
            declared(&grants.secrets),
            keys_read(&agent.source, "secrets"),
            "{}: secrets",
            agent.slug
        );
    }
}

#[tokio::test]
async fn every_launch_agent_names_the_missing_field() {
    let site = stand_in_site().await;
    for agent in launch_agents() {
        let prepared = prepare(&agent).await;
        let (_, host) = host_for(&agent, site);
        let message = agent_error(&agent.slug, &run(&agent, &prepared, &json!({}), host).await);
        assert!(
            message.starts_with("Error: input."),
            "{}: {message}",
            agent.slug
        );
    }
}

/// Bad values, not just missing ones: the error says which field and why.
#[tokio::test]
async fn bad_inputs_are_refused_with_the_field_named() {
    let cases = [
        (
            "data-insights",
            json!({ "data": "month,revenue\n2025-01,120\n2025-02\n" }),
            "Error: input.data row 3 has 1 fields but the header has 2",
        ),
        (
            "data-insights",
            json!({ "data": [{ "a": 1 }, 7] }),
            "Error: input.data[1] must be an object",
        ),
        (
            "sales-manager",
            json!({ "period": "2026-Q2", "deals": [
                { "name": "A", "stage": "proposal", "amount": 100, "close_date": "2026-05-01" },
                { "name": "B", "stage": "proposal", "amount": -5, "close_date": "2026-05-01" }
            ] }),
            "Error: input.deals[1].amount must be a number of at least 0",
        ),
        (
            "sales-manager",
            json!({ "period": "2026-Q5", "deals": [{ "name": "A" }] }),
            "Error: input.period must be a quarter",
        ),
        (
            "analytics",
            json!({ "series": [{ "date": "2026-03-01", "value": 1 }, { "date": "March 2", "value": 2 }] }),
            "Error: input.series[1].date must be a date as YYYY-MM-DD",
        ),
        (
            "seo-specialist",
            json!({ "url": "ftp://example.com/page", "target_query": "coffee" }),
            "Error: input.url must be an absolute http(s) address",
        ),
        (
            "event-manager",
            json!({ "event": { "name": "Meetup", "type": "party", "date": "2026-06-18", "start_time": "18:00", "size": 20, "location": "Hall" } }),
            "Error: input.event.type must be one of",
        ),
        (
            "website-builder",
            json!({ "product": { "name": "X", "description": "Y" }, "audience": "Z", "sections": ["hero", "pricing"] }),
            "Error: input.product.price is needed for the pricing section",
        ),
    ];
    let agents = launch_agents();
    let site = stand_in_site().await;
    for (slug, input, expected) in cases {
        let agent = agents
            .iter()
            .find(|agent| agent.slug == slug)
            .expect("the agent exists");
        let prepared = prepare(agent).await;
        let (_, host) = host_for(agent, site);
        let message = agent_error(slug, &run(agent, &prepared, &input, host).await);
        assert!(message.starts_with(expected), "{slug}: {message}");
    }
}

/// Runs `agent` once per input against one shared store, answering the outputs.
async fn in_one_deployment(slug: &str, inputs: &[Value]) -> Vec<Value> {
    let agents = launch_agents();
    let agent = agents
        .iter()
        .find(|agent| agent.slug == slug)
        .expect("the agent exists");
    let prepared = prepare(agent).await;
    let host =
        HostContext::new(agent.manifest.capabilities.clone()).with_kv(Arc::new(MemoryKv::new()));
    let mut outputs = Vec::new();
    for input in inputs {
        outputs.push(output(
            slug,
            &run(agent, &prepared, input, host.clone()).await,
        ));
    }
    outputs
}

#[tokio::test]
async fn crm_assistant_remembers_contacts_and_follow_ups() {
    let outputs = in_one_deployment(
        "crm-assistant",
        &[
            json!({
                "contact": { "id": "c-dana", "name": "Dana Whitfield", "email": "dana@brightline.example", "company": "Brightline Logistics" },
                "notes": "Follow up with the pricing sheet tomorrow.",
                "as_of": "2026-04-15"
            }),
            json!({
                "contact": { "id": "c-dw", "name": "Dana Whitfeld", "company": "Brightline Logistics" },
                "email": "Thanks for the call! Dana Whitfeld <dana.w@brightline.example>",
                "as_of": "2026-04-16"
            }),
        ],
    )
    .await;
    assert_eq!(
        outputs[0]["tasks"],
        json!([{ "title": "Follow up with the pricing sheet tomorrow.", "due": "2026-04-16" }])
    );
    assert_eq!(outputs[0]["duplicates"], json!([]));
    assert_eq!(
        outputs[1]["duplicates"],
        json!([{ "contact_id": "c-dana", "name": "Dana Whitfield", "email": "dana@brightline.example",
                 "reasons": ["similar name (1 letter apart) at the same company"] }])
    );
    assert_eq!(
        outputs[1]["due_tasks"],
        json!([{ "contact_id": "c-dana", "title": "Follow up with the pricing sheet tomorrow.", "due": "2026-04-16" }]),
        "yesterday's follow-up is due today"
    );
    assert_eq!(outputs[1]["changes"][0]["to"], "dana.w@brightline.example");
}

#[tokio::test]
async fn event_manager_reports_what_a_change_moves() {
    let event = json!({ "name": "Team Offsite", "type": "offsite", "date": "2026-09-10", "start_time": "09:00", "size": 24, "location": "Lake Hotel" });
    let outputs = in_one_deployment(
        "event-manager",
        &[
            json!({ "event": event, "as_of": "2026-06-01" }),
            json!({ "change": { "event_id": "team-offsite-2026-09-10", "date": "2026-09-17", "size": 30 }, "as_of": "2026-06-02" }),
        ],
    )
    .await;
    assert_eq!(outputs[0]["event_id"], "team-offsite-2026-09-10");
    let changes = &outputs[1]["changes"];
    assert_eq!(
        changes["fields"],
        json!([{ "field": "date", "from": "2026-09-10", "to": "2026-09-17" }, { "field": "size", "from": 24, "to": 30 }])
    );
    let moved = changes["moved"].as_array().expect("a list of moves");
    assert!(
        moved.contains(&json!({ "task": "Book the venue at Lake Hotel for 30 people", "from": "2026-07-16", "to": "2026-07-23" })),
        "{moved:?}"
    );
    assert!(
        moved.contains(&json!({ "item": "Catering portions", "from": 27, "to": 33 })),
        "{moved:?}"
    );
    assert_eq!(outputs[1]["event"]["date"], "2026-09-17");
}

#[tokio::test]
async fn customer_support_numbers_tickets_per_deployment() {
    let message =
        json!({ "message": "My parcel has not arrived and the tracking page shows nothing." });
    let outputs = in_one_deployment("customer-support", &[message.clone(), message]).await;
    assert_eq!(outputs[0]["ticket"]["number"], "T-000001");
    assert_eq!(outputs[1]["ticket"]["number"], "T-000002");
    assert_eq!(outputs[1]["ticket"]["category"], "shipping");
    assert_eq!(outputs[1]["counts"], json!({ "total": 2, "shipping": 2 }));
    assert_eq!(
        outputs[1]["needs_human"], true,
        "nothing in the knowledge base covers it"
    );
}

/// The model only writes prose on top of computed numbers: without it the
/// numbers are all there.
#[tokio::test]
async fn computing_agents_work_without_the_model() {
    let agents = launch_agents();
    for slug in ["data-insights", "analytics", "sales-manager"] {
        let agent = agents
            .iter()
            .find(|agent| agent.slug == slug)
            .expect("the agent exists");
        let prepared = prepare(agent).await;
        let host = HostContext::new(Capabilities::default());
        let out = output(slug, &run(agent, &prepared, &agent.input, host).await);
        let mut found = Vec::new();
        mismatches(&agent.expect, &out, "output", &mut found);
        assert!(found.is_empty(), "{slug}: {found:?}");
    }
}
