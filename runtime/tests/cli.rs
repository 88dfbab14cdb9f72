//! `agentdeck-agent`: runs an agent file and prints the outcome as JSON.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> (i32, Value, String) {
    // Options follow the command and the file.
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--cache-dir", env!("AGENTDECK_TEST_CACHE_DIR")]);
    let output = Command::new(env!("CARGO_BIN_EXE_agentdeck-agent"))
        .args(&full)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("AGENTDECK_LLM_BASE_URL")
        .output()
        .expect("the command runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn runs_a_script_with_input_and_prints_the_outcome() {
    let (code, outcome, _) = run(&["run", "agents/examples/echo.js", "--input", r#"{"hi":1}"#]);
    assert_eq!(code, 0);
    assert_eq!(
        outcome["output"],
        serde_json::json!({ "echo": { "hi": 1 } })
    );
    assert_eq!(outcome["logs"][0]["message"], r#"echoing {"hi":1}"#);
    assert!(outcome["fuel_used"].as_u64().unwrap() > 0);
}

#[test]
fn grants_come_from_flags() {
    let (code, outcome, _) = run(&[
        "run",
        "agents/examples/summarizer.js",
        "--input",
        r#"{"text":"One. Two."}"#,
    ]);
    assert_eq!(code, 1, "llm is not granted");
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("denied: llm is not granted"),
        "{outcome}"
    );

    let (code, outcome, _) = run(&[
        "run",
        "agents/examples/summarizer.js",
        "--llm",
        "--input",
        r#"{"text":"One two three."}"#,
    ]);
    assert_eq!(code, 0, "{outcome}");
    assert_eq!(outcome["output"]["summary"], "One two three.");

    let (code, outcome, _) = run(&["run", "agents/examples/counter.js", "--kv"]);
    assert_eq!((code, &outcome["output"]["count"]), (0, &Value::from(1)));
}

#[test]
fn runs_a_component() {
    let (code, outcome, _) = run(&[
        "run",
        env!("AGENTDECK_RUST_ECHO_WASM"),
        "--input",
        "[1,2,3]",
    ]);
    assert_eq!(code, 0);
    assert_eq!(outcome["output"], serde_json::json!([1, 2, 3]));
}

#[test]
fn reports_failures_with_exit_codes() {
    let directory = tempfile::tempdir().unwrap();
    let broken = directory.path().join("broken.js");
    std::fs::write(&broken, "export default function run() {\n  return (;\n}\n").unwrap();
    let (code, outcome, _) = run(&["check", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(outcome["error"]["code"], "prepare_failed");
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("(line 2, column 11)"),
        "{outcome}"
    );

    let (code, outcome, _) = run(&["check", "agents/examples/echo.js"]);
    assert_eq!((code, outcome["ok"].as_bool()), (0, Some(true)));

    let spin = directory.path().join("spin.js");
    std::fs::write(&spin, "export default function run() { for (;;) {} }\n").unwrap();
    let (code, outcome, _) = run(&["run", spin.to_str().unwrap(), "--timeout-ms", "300"]);
    assert_eq!(code, 1);
    assert_eq!(outcome["error"]["code"], "timed_out");
    assert_eq!(outcome["error"]["message"], "timed out after 300 ms");

    let (code, _, stderr) = run(&["run", "agents/examples/echo.js", "--bogus"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown option \"--bogus\"") && stderr.contains("usage:"),
        "{stderr}"
    );
}
