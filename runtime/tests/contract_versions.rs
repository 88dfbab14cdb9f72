//! The agent contract grows by minor versions of `agentdeck:agent`, and a
//! component built against an older one still links: the Rust example is
//! built against the frozen 0.1.0 (`agents/wit-0.1.0`), which has no
//! `trigger`, and runs on a host serving 0.1.1. A JavaScript agent (the
//! runner is built against the newest) reads `ctx.trigger`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{javascript, run_with, runtime, rust_echo_bytes};
use runtime::{Capabilities, HostContext, Limits, Trigger};
use wasmtime::component::Component;

/// The interfaces a component imports, by name.
fn imports(bytes: &[u8]) -> Vec<String> {
    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, bytes).expect("a component");
    component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[tokio::test]
async fn a_component_built_against_0_1_0_links_on_the_0_1_1_host() {
    let bytes = rust_echo_bytes();
    let names = imports(&bytes);
    let ours: Vec<&String> = names
        .iter()
        .filter(|name| name.starts_with("agentdeck:agent/"))
        .collect();
    assert!(
        !ours.is_empty() && ours.iter().all(|name| name.ends_with("@0.1.0")),
        "built against 0.1.0 only: {names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|name| name.starts_with("agentdeck:agent/trigger")),
        "0.1.0 has no trigger: {names:?}"
    );
    let agent = runtime()
        .prepare_component(&bytes)
        .await
        .expect("an 0.1.0 component prepares on the 0.1.1 host");
    let outcome = run_with(
        &agent,
        r#"{"still":"links"}"#,
        Limits::default(),
        HostContext::new(Capabilities::default()),
    )
    .await;
    assert_eq!(outcome.output(), Ok(r#"{"still":"links"}"#));
}

#[tokio::test]
async fn a_javascript_agent_reads_what_started_it_as_ctx_trigger() {
    let agent =
        javascript("export default function run(input, ctx) {\n  return ctx.trigger;\n}\n").await;
    let host = HostContext::new(Capabilities::default()).with_trigger(Trigger {
        kind: "webhook".to_owned(),
        at: "2027-01-01T00:00:00Z".to_owned(),
        details: r#"{"method":"POST","query":{"a":"1"},"headers":{"x-source":"shop"}}"#.to_owned(),
    });
    let outcome = run_with(&agent, "{}", Limits::default(), host).await;
    let output: serde_json::Value =
        serde_json::from_str(outcome.output().expect("an output")).expect("JSON");
    assert_eq!(
        output,
        serde_json::json!({
            "method": "POST", "query": { "a": "1" }, "headers": { "x-source": "shop" },
            "kind": "webhook", "at": "2027-01-01T00:00:00Z"
        })
    );
    // Without details (an editor's test run): kind and time only.
    let outcome = run_with(
        &agent,
        "{}",
        Limits::default(),
        HostContext::new(Capabilities::default()),
    )
    .await;
    let output: serde_json::Value =
        serde_json::from_str(outcome.output().expect("an output")).expect("JSON");
    assert_eq!(output["kind"], "test");
}
