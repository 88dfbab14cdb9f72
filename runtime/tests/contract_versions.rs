//! The agent contract grows by minor versions of `agentdeck:agent`, and a
//! component built against an older one still links: the Rust example is
//! built against the frozen 0.1.0 (`agents/wit-0.1.0`), which has neither
//! `trigger` (0.1.1) nor `conversation` (0.1.2), and runs on a host serving
//! the newest. A JavaScript agent (the runner is built against the newest)
//! reads `ctx.trigger` and `ctx.conversation`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{javascript, run_with, runtime, rust_echo_bytes};
use runtime::{Capabilities, ConversationMessage, HostContext, Limits, Trigger};
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
async fn a_component_built_against_0_1_0_links_on_the_newest_host() {
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
        !names.iter().any(|name| {
            name.starts_with("agentdeck:agent/trigger")
                || name.starts_with("agentdeck:agent/conversation")
        }),
        "0.1.0 has neither trigger nor conversation: {names:?}"
    );
    let agent = runtime()
        .prepare_component(&bytes)
        .await
        .expect("an 0.1.0 component prepares on the newest host");
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

#[tokio::test]
async fn a_javascript_agent_reads_the_earlier_messages_as_ctx_conversation() {
    let agent =
        javascript("export default function run(input, ctx) {\n  return ctx.conversation;\n}\n")
            .await;
    let host = HostContext::new(Capabilities::default()).with_conversation(vec![
        ConversationMessage {
            role: "user".to_owned(),
            text: "Do you ship to Oslo?".to_owned(),
            at: "2027-01-01T10:00:00Z".to_owned(),
        },
        ConversationMessage {
            role: "assistant".to_owned(),
            text: "Yes, in \"3–5\" days.".to_owned(),
            at: "2027-01-01T10:00:02Z".to_owned(),
        },
    ]);
    let outcome = run_with(&agent, r#""And to Bergen?""#, Limits::default(), host).await;
    assert_eq!(
        outcome.output(),
        Ok(concat!(
            r#"[{"role":"user","text":"Do you ship to Oslo?","at":"2027-01-01T10:00:00Z"},"#,
            r#"{"role":"assistant","text":"Yes, in \"3–5\" days.","at":"2027-01-01T10:00:02Z"}]"#,
        ))
    );
    // Outside a conversation: an empty list, not `undefined`.
    let outcome = run_with(
        &agent,
        "{}",
        Limits::default(),
        HostContext::new(Capabilities::default()),
    )
    .await;
    assert_eq!(outcome.output(), Ok("[]"));
}
