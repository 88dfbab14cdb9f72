//! The sandbox's contract: JavaScript and Rust agents run in the same world,
//! errors are typed and located, capabilities are denied unless granted,
//! metering is deterministic, compiled components are cached.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use runtime::kv::MemoryKv;
use runtime::{Capabilities, HostContext, Limits, PrepareError, RunError, Runtime, RuntimeOptions};
use std::collections::BTreeMap;
use std::sync::Arc;

#[tokio::test]
async fn javascript_agent_runs_with_output_logs_and_metering() {
    let agent = javascript(&example("echo.js")).await;
    assert!(agent.is_javascript());
    let outcome = run(&agent, r#"{"text":"héllo","n":[1,2]}"#).await;
    assert_eq!(
        outcome.output(),
        Ok(r#"{"echo":{"text":"héllo","n":[1,2]}}"#)
    );
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(
        outcome.logs[0].message,
        r#"echoing {"text":"héllo","n":[1,2]}"#
    );
    assert!(!outcome.logs_truncated);
    assert!(outcome.fuel_used > 0);
    assert!(outcome.peak_memory_bytes > 0);
}

#[tokio::test]
async fn async_agents_and_console_work() {
    let agent = javascript(
        "export default async function run(input) {\n\
           console.warn('careful', { n: 1 });\n\
           const doubled = await Promise.resolve(input * 2);\n\
           return doubled;\n\
         }",
    )
    .await;
    let outcome = run(&agent, "21").await;
    assert_eq!(outcome.output(), Ok("42"));
    assert_eq!(outcome.logs[0].message, r#"careful {"n":1}"#);
    assert_eq!(outcome.logs[0].level, runtime::Level::Warn);
}

#[tokio::test]
async fn a_named_run_export_works_and_undefined_output_is_null() {
    let agent = javascript("export function run() {}").await;
    assert_eq!(run(&agent, "null").await.output(), Ok("null"));
}

#[tokio::test]
async fn rust_component_runs_in_the_same_world() {
    let agent = runtime()
        .prepare_component(&rust_echo_bytes())
        .await
        .expect("the Rust example prepares");
    assert!(!agent.is_javascript());
    let outcome = run(&agent, r#"{"hello":"world"}"#).await;
    assert_eq!(outcome.output(), Ok(r#"{"hello":"world"}"#));
}

#[tokio::test]
async fn syntax_errors_come_back_with_line_and_column() {
    let source =
        "export default function run(input) {\n  const x = 1;\n  let y = (x + ;\n  return y;\n}\n";
    let error = runtime()
        .prepare_javascript("broken.js", source, &Limits::default())
        .await
        .err();
    let Some(PrepareError::Script(failure)) = error else {
        panic!("expected a script error, got {error:?}")
    };
    assert_eq!(failure.code, "syntax-error");
    assert_eq!((failure.line, failure.column), (Some(3), Some(16)));
    assert!(
        failure.message.starts_with("SyntaxError:"),
        "{}",
        failure.message
    );

    let unfinished = "export default function run(input) {\n  return [1, 2";
    let error = runtime()
        .prepare_javascript("unfinished.js", unfinished, &Limits::default())
        .await
        .err();
    let Some(PrepareError::Script(failure)) = error else {
        panic!("expected a script error, got {error:?}")
    };
    assert_eq!(failure.line, Some(2));
}

#[tokio::test]
async fn scripts_without_an_agent_function_are_refused() {
    let error = runtime()
        .prepare_javascript("lib.js", "export const x = 1;", &Limits::default())
        .await
        .err();
    let Some(PrepareError::Script(failure)) = error else {
        panic!("expected a script error, got {error:?}")
    };
    assert_eq!(failure.code, "no-run-function");
    let error = runtime()
        .prepare_javascript(
            "import.js",
            "import x from 'fs';\nexport default () => x;",
            &Limits::default(),
        )
        .await;
    assert!(error.is_err(), "imports have nothing to load");
}

#[tokio::test]
async fn runtime_errors_come_back_with_their_position_and_stack() {
    let source = "function helper() {\n  return nope + 1;\n}\n\nexport default function run(input) {\n  if (input.throw) {\n    throw new Error('asked to fail');\n  }\n  return helper();\n}\n";
    let agent = javascript(source).await;
    let Err(RunError::Agent(thrown)) = run(&agent, r#"{"throw":true}"#).await.result else {
        panic!("expected an agent error")
    };
    assert_eq!(thrown.code, "exception");
    assert_eq!(thrown.message, "Error: asked to fail");
    assert_eq!(
        (thrown.line, thrown.column),
        (Some(7), Some(11)),
        "at the thrown expression"
    );

    let Err(RunError::Agent(failure)) = run(&agent, "{}").await.result else {
        panic!("expected an agent error")
    };
    assert!(
        failure
            .message
            .starts_with("ReferenceError: nope is not defined"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("at helper"),
        "the stack is shown: {}",
        failure.message
    );
    assert_eq!(failure.line, Some(9), "Boa places it at the call in run()");
}

#[tokio::test]
async fn bad_input_and_bad_output_are_reported() {
    let agent = javascript(&example("echo.js")).await;
    let Err(RunError::Agent(failure)) = run(&agent, "{not json").await.result else {
        panic!("expected an agent error")
    };
    assert_eq!(failure.code, "invalid-input");

    let probe = probe().await;
    // The probe answers "echo" with its input verbatim, which need not be JSON.
    let outcome = run(&probe, "\"echo:\" trailing").await;
    assert_eq!(outcome.result.unwrap_err().code(), "invalid_output");
}

#[tokio::test]
async fn agent_errors_and_crashes_are_typed() {
    let probe = probe().await;
    let Err(RunError::Agent(failure)) = run(&probe, &op("fail:no luck")).await.result else {
        panic!("expected an agent error")
    };
    assert_eq!(
        (failure.code.as_str(), failure.message.as_str()),
        ("failed", "no luck")
    );

    let outcome = run(&probe, &op("panic")).await;
    let Err(RunError::Trap { message }) = &outcome.result else {
        panic!("expected a trap, got {:?}", outcome.result)
    };
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        outcome
            .logs
            .iter()
            .any(|line| line.message.contains("the probe was asked to panic")),
        "the panic message reaches the log: {:?}",
        outcome.logs
    );
}

#[tokio::test]
async fn standard_output_goes_to_the_log() {
    let outcome = run(&probe().await, &op("stdout")).await;
    assert!(outcome.is_success());
    let lines: Vec<_> = outcome
        .logs
        .iter()
        .map(|line| (line.level, line.message.as_str()))
        .collect();
    assert!(
        lines.contains(&(runtime::Level::Info, "to stdout")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(runtime::Level::Error, "to stderr")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn every_capability_is_denied_unless_granted() {
    let agent = javascript(
        "export default function run(input, ctx) {\n\
           const attempts = {\n\
             llm: () => ctx.llm.complete('hi'),\n\
             http: () => ctx.http.fetch('http://127.0.0.1:9/'),\n\
             kv: () => ctx.kv.get('k'),\n\
             config: () => ctx.config.get('REGION'),\n\
             secret: () => ctx.secrets.get('TOKEN'),\n\
           };\n\
           const seen = {};\n\
           for (const [name, attempt] of Object.entries(attempts)) {\n\
             try { seen[name] = 'allowed: ' + JSON.stringify(attempt()); } catch (error) { seen[name] = error.message; }\n\
           }\n\
           return seen;\n\
         }",
    )
    .await;
    let outcome = run_with(
        &agent,
        "null",
        Limits::default(),
        HostContext::new(Capabilities::default()).with_kv(Arc::new(MemoryKv::new())),
    )
    .await;
    let seen: BTreeMap<String, String> =
        serde_json::from_str(outcome.output().expect("the agent catches every denial")).unwrap();
    assert_eq!(seen.len(), 5);
    for (capability, message) in &seen {
        assert!(message.starts_with("denied: "), "{capability}: {message}");
    }
    assert!(
        seen["llm"].contains("capabilities.llm"),
        "the denial says what to grant: {}",
        seen["llm"]
    );

    let granted = Capabilities {
        llm: true,
        kv: true,
        config: vec!["REGION".into()],
        secrets: vec!["TOKEN".into()],
        ..Capabilities::default()
    };
    let host = HostContext::new(granted)
        .with_kv(Arc::new(MemoryKv::new()))
        .with_config([("REGION".to_owned(), "eu".to_owned())].into())
        .with_secrets([("TOKEN".to_owned(), "s3cret".to_owned())].into());
    let outcome = run_with(&agent, "null", Limits::default(), host).await;
    let seen: BTreeMap<String, String> = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(
        seen["llm"], r#"allowed: "hi""#,
        "the offline model answers with the prompt"
    );
    assert_eq!(seen["kv"], "allowed: null");
    assert_eq!(seen["config"], r#"allowed: "eu""#);
    assert_eq!(seen["secret"], r#"allowed: "s3cret""#);
    assert!(
        seen["http"].starts_with("denied: "),
        "http still needs hosts: {}",
        seen["http"]
    );
}

#[tokio::test]
async fn kv_state_outlives_the_run() {
    let agent = javascript(&example("counter.js")).await;
    let store = Arc::new(MemoryKv::new());
    let host = HostContext::new(Capabilities {
        kv: true,
        ..Capabilities::default()
    })
    .with_kv(store.clone());
    for expected in 1..=3 {
        let outcome = run_with(
            &agent,
            r#"{"name":"visits"}"#,
            Limits::default(),
            host.clone(),
        )
        .await;
        let output: serde_json::Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
        assert_eq!(output["count"], expected);
    }
    let outcome = run_with(
        &agent,
        r#"{"name":"clicks","by":5}"#,
        Limits::default(),
        host,
    )
    .await;
    let output: serde_json::Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(
        output,
        serde_json::json!({ "name": "clicks", "count": 5, "names": ["clicks", "visits"] })
    );
    assert_eq!(store.snapshot()["count:visits"], "3");
}

#[tokio::test]
async fn metering_is_deterministic() {
    let agent = javascript(
        "export default function run(input) {\n\
           const words = {};\n\
           for (let i = 0; i < input.n; i++) { const w = 'w' + (i * 7919 % 101); words[w] = (words[w] || 0) + 1; }\n\
           return Object.keys(words).sort().slice(0, 3).map(k => [k, words[k]]);\n\
         }",
    )
    .await;
    let mut fuel = Vec::new();
    for _ in 0..5 {
        let outcome = run(&agent, r#"{"n":5000}"#).await;
        assert!(outcome.is_success(), "{:?}", outcome.result);
        fuel.push(outcome.fuel_used);
    }
    assert!(
        fuel.iter().all(|used| *used == fuel[0]),
        "the same agent and input use the same fuel: {fuel:?}"
    );
    let more = run(&agent, r#"{"n":10000}"#).await.fuel_used;
    assert!(
        more > fuel[0],
        "more work uses more fuel: {more} vs {}",
        fuel[0]
    );

    let probe = probe().await;
    let input = op("cpu:100000");
    let rust: Vec<u64> = futures::future::join_all((0..5).map(|_| run(&probe, &input)))
        .await
        .iter()
        .map(|outcome| outcome.fuel_used)
        .collect();
    assert!(
        rust.iter().all(|used| *used == rust[0]),
        "concurrent runs meter the same: {rust:?}"
    );
}

#[tokio::test]
async fn fuel_runs_out_with_a_typed_error() {
    let probe = probe().await;
    let limits = Limits {
        fuel: 1_000_000,
        ..Limits::default()
    };
    let outcome = run_with(
        &probe,
        &op("cpu:100000000"),
        limits,
        HostContext::new(Capabilities::default()),
    )
    .await;
    assert_eq!(
        outcome.result,
        Err(RunError::FuelExhausted { limit: 1_000_000 })
    );
    assert_eq!(outcome.fuel_used, 1_000_000);
}

#[tokio::test]
async fn invalid_components_are_refused() {
    let error = runtime().prepare_component(b"not a component").await.err();
    assert!(
        matches!(error, Some(PrepareError::InvalidComponent(_))),
        "{error:?}"
    );
    // A core module is not a component either.
    let error = runtime().prepare_component(b"\0asm\x01\0\0\0").await.err();
    assert!(
        matches!(error, Some(PrepareError::InvalidComponent(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let options = || RuntimeOptions {
        cache_dir: Some(dir.path().to_owned()),
        max_concurrent_runs: 4,
        ..RuntimeOptions::default()
    };
    {
        let first = Runtime::new(options()).expect("starts, compiling the runner");
        first
            .prepare_component(&rust_echo_bytes())
            .await
            .expect("compiles");
    }
    let cached: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(cached.len(), 2, "the runner and the component: {cached:?}");
    assert!(
        cached
            .iter()
            .all(|name| name.to_string_lossy().ends_with(".cwasm"))
    );

    let second = Runtime::new(options()).expect("starts from the cache");
    let agent = second
        .prepare_component(&rust_echo_bytes())
        .await
        .expect("loads from the cache");
    let outcome = second
        .run(
            &agent,
            "[1]",
            &Limits::default(),
            HostContext::new(Capabilities::default()),
        )
        .await;
    assert_eq!(outcome.output(), Ok("[1]"));
    // Loaded artifacts are mapped from their files: never change one in
    // place while it is in use (the cache itself only ever renames new
    // files into place).
    drop((agent, second));

    // A damaged artifact is compiled again, not trusted.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let third = Runtime::new(options()).expect("recompiles a damaged cache");
    let agent = third
        .prepare_component(&rust_echo_bytes())
        .await
        .expect("recompiles");
    let outcome = third
        .run(
            &agent,
            "[2]",
            &Limits::default(),
            HostContext::new(Capabilities::default()),
        )
        .await;
    assert_eq!(outcome.output(), Ok("[2]"));
}

#[tokio::test]
async fn the_outcome_serialises_for_the_api() {
    let agent = javascript(&example("echo.js")).await;
    let outcome = run(&agent, "7").await;
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["output"], serde_json::json!({ "echo": 7 }));
    assert!(json["fuel_used"].as_u64().unwrap() > 0);
    assert_eq!(json["logs"][0]["level"], "info");

    let failed = run(&probe().await, &op("fail:nope")).await;
    let json = serde_json::to_value(&failed).unwrap();
    assert_eq!(json["error"]["code"], "agent_error");
    assert_eq!(json["error"]["agent"]["message"], "nope");
}

#[tokio::test]
async fn the_language_features_authors_expect_are_there() {
    let agent = javascript(
        r#"class Counter {
  #count = 0;
  static of(start) { const counter = new Counter(); counter.#count = start; return counter; }
  get value() { return this.#count; }
  *up(times) { for (let i = 0; i < times; i++) yield ++this.#count; }
}
export default async function run({ words, nested: { deep = "default" } = {} }) {
  const counts = new Map();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const unique = [...new Set(words)].sort((a, b) => a.localeCompare(b));
  const counter = Counter.of(10);
  const ups = [...counter.up(3)];
  const awaited = await Promise.all([1, 2].map(async (n) => n * 2));
  const big = (2n ** 64n).toString();
  const match = /(?<year>\d{4})-(?<month>\d{2})/.exec("2026-11")?.groups;
  const bytes = new Uint8Array([1, 2, 3]).reduce((sum, byte) => sum + byte, 0);
  const date = new Date(Date.UTC(2026, 10, 23)).toISOString();
  const text = `${unique.length} unique, deep=${deep}`;
  const entries = Object.fromEntries(counts);
  const flat = [[1], [2, [3]]].flat(2);
  return { entries, unique, ups, value: counter.value, awaited, big, match, bytes, date, text, flat,
           json: JSON.parse(JSON.stringify({ a: [1, { b: null }] })), at: words.at(-1), includes: "abc".includes("b") };
}"#,
    )
    .await;
    let outcome = run(&agent, r#"{"words":["b","a","b"]}"#).await;
    let output: serde_json::Value = serde_json::from_str(outcome.output().unwrap()).unwrap();
    assert_eq!(
        output,
        serde_json::json!({
            "entries": { "b": 2, "a": 1 }, "unique": ["a", "b"], "ups": [11, 12, 13], "value": 13,
            "awaited": [2, 4], "big": "18446744073709551616", "match": { "year": "2026", "month": "11" },
            "bytes": 6, "date": "2026-11-23T00:00:00.000Z", "text": "2 unique, deep=default", "flat": [1, 2, 3],
            "json": { "a": [1, { "b": null }] }, "at": "b", "includes": true
        })
    );
}

/// Runs start from the runner's snapshot in memory slots the pool reuses:
/// nothing one run leaves in the engine (globals, changed built-ins, a
/// changed `ctx`, its heap) reaches the next.
#[tokio::test]
async fn a_run_sees_nothing_of_the_run_before() {
    let agent = javascript(
        "export default function run(input, ctx) {\n\
           const seen = {\n\
             global: typeof globalThis.left,\n\
             prototype: typeof Array.prototype.left,\n\
             ctx: typeof ctx.left,\n\
             log: ctx.log.info.name,\n\
             big: typeof globalThis.big,\n\
           };\n\
           globalThis.left = input;\n\
           Array.prototype.left = input;\n\
           ctx.left = input;\n\
           try { ctx.log.info = function replaced() {}; } catch (_) {}\n\
           globalThis.big = 'x'.repeat(1 << 20) + input;\n\
           return seen;\n\
         }",
    )
    .await;
    let fresh = r#"{"global":"undefined","prototype":"undefined","ctx":"undefined","log":"info","big":"undefined"}"#;
    // The runs start from the runner's snapshot (else this checks little).
    assert!(runtime().runner_from_snapshot());
    for round in 0..20 {
        let outcome = run(&agent, &format!("\"secret {round}\"")).await;
        assert_eq!(outcome.output(), Ok(fresh), "round {round}");
    }
}

/// Memory one run wrote (its data segment, statics and memory it grew) is
/// the module's own again for the next run in the slot, also after a run
/// of another component. On a runtime of one run at a time, so that every
/// run of the probe has the slot the one before had.
#[tokio::test]
async fn a_run_finds_no_memory_of_the_run_before() {
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cache_dir()),
        max_concurrent_runs: 1,
        ..RuntimeOptions::default()
    })
    .expect("the sandbox starts");
    let probe = runtime
        .prepare_component(&probe_bytes())
        .await
        .expect("the probe prepares");
    let script = runtime
        .prepare_javascript(
            "agent.js",
            "export default function run() { return 'x'.repeat(1 << 20).length; }",
            &Limits::default(),
        )
        .await
        .expect("the script prepares");
    let run = async |agent: &runtime::PreparedAgent, input: &str| {
        runtime
            .run(
                agent,
                input,
                &Limits::default(),
                HostContext::new(Capabilities::default()),
            )
            .await
    };
    for round in 0..12 {
        let outcome = run(&probe, &op("residue")).await;
        assert_eq!(outcome.output(), Ok("0"), "round {round}");
        if round % 3 == 0 {
            assert_eq!(run(&script, "null").await.output(), Ok("1048576"));
        }
    }
}
