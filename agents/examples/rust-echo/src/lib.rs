//! The smallest useful agent written in Rust: it answers with its input.
//!
//! Any language that can build a component against `wit/agent.wit` works the
//! same way; build this one with
//! `cargo build --release --target wasm32-wasip2 -p rust-echo` in `agents/`
//! and run it with `agentdeck dev target/…/rust_echo.wasm --once --input '{"hi":1}'`.

// Built against the first contract, 0.1.0, frozen in agents/wit-0.1.0:
// it shows that a component made before a later version still links.
wit_bindgen::generate!({ world: "agent", path: "../../wit-0.1.0" });

struct Echo;

impl Guest for Echo {
    fn run(input: String) -> Result<String, AgentError> {
        Ok(input)
    }
}

export!(Echo);
