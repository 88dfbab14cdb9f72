//! Shared by the sandbox's integration tests: one runtime per test binary
//! (the JavaScript runner is compiled once per machine into the build's
//! cache directory), the guests build.rs built, and small helpers.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use runtime::{Capabilities, HostContext, Limits, Outcome, PreparedAgent, Runtime, RuntimeOptions};
use std::path::PathBuf;
use std::sync::OnceLock;

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(RuntimeOptions {
            cache_dir: Some(cache_dir()),
            ..RuntimeOptions::default()
        })
        .expect("the sandbox starts")
    })
}

pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("AGENTDECK_TEST_CACHE_DIR"))
}

pub fn probe_bytes() -> Vec<u8> {
    std::fs::read(env!("AGENTDECK_PROBE_WASM")).expect("build.rs built the probe")
}

pub fn rust_echo_bytes() -> Vec<u8> {
    std::fs::read(env!("AGENTDECK_RUST_ECHO_WASM")).expect("build.rs built the Rust example")
}

pub fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../agents/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub async fn javascript(source: &str) -> PreparedAgent {
    runtime()
        .prepare_javascript("agent.js", source, &Limits::default())
        .await
        .unwrap_or_else(|error| panic!("the script prepares: {error}"))
}

pub async fn probe() -> PreparedAgent {
    runtime()
        .prepare_component(&probe_bytes())
        .await
        .expect("the probe prepares")
}

pub async fn run(agent: &PreparedAgent, input: &str) -> Outcome {
    runtime()
        .run(
            agent,
            input,
            &Limits::default(),
            HostContext::new(Capabilities::default()),
        )
        .await
}

pub async fn run_with(
    agent: &PreparedAgent,
    input: &str,
    limits: Limits,
    host: HostContext,
) -> Outcome {
    runtime().run(agent, input, &limits, host).await
}

/// The probe's input: a JSON string naming the op.
pub fn op(name: &str) -> String {
    format!("\"{name}\"")
}
