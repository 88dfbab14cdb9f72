//! The Agentdeck sandbox: runs untrusted agents, JavaScript scripts or
//! components built from any language against `agents/wit/agent.wit`, inside
//! wasmtime with hard limits and deny-by-default capabilities.
//!
//! ```text
//! Runtime::new(options)                      engine, pooling allocator, JS runner
//!   .prepare_javascript(name, source, limits) → PreparedAgent   (checks the script)
//!   .prepare_component(bytes)                 → PreparedAgent   (compiles, cached)
//!   .run(&agent, input_json, limits, host)    → Outcome         (fresh sandbox per run)
//! ```
//!
//! A run ends with its output or a typed [`RunError`]: timed out, fuel
//! exhausted, memory limit, stack exhausted, output too large, the agent's own
//! error (with line and column for scripts), or a crash. The host stays
//! healthy whatever the agent does.

mod cache;
mod call_error;
pub mod connections;
mod engine;
mod host;
pub mod http;
pub mod kv;
mod limits;
pub mod llm;
mod outcome;
mod snapshot;
mod wasi_io;

pub use call_error::CallError;
pub use engine::{MAX_SCRIPT_BYTES, PreparedAgent, Runtime, RuntimeError, RuntimeOptions};
pub use host::{ConversationMessage, HostContext, Trigger};
pub use limits::{Capabilities, Limits, Manifest};
pub use outcome::{AgentFailure, Level, LogLine, Outcome, PrepareError, RunError};

/// Where this build keeps compiled components for tests and benchmarks (in
/// the cargo target directory, next to the guests).
#[doc(hidden)]
pub fn build_cache_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("AGENTDECK_TEST_CACHE_DIR"))
}
