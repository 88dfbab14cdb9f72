//! Hostile agents, all at once, while benign runs keep going: each hostile
//! run ends with its own typed error, every benign run succeeds.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use runtime::{Capabilities, HostContext, Limits, Outcome, PrepareError, PreparedAgent, RunError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// One hostile case: what it runs and what must come of it.
struct Case {
    name: &'static str,
    agent: PreparedAgent,
    input: String,
    limits: Limits,
    host: HostContext,
    check: fn(&Outcome, &Limits),
}

fn nothing() -> HostContext {
    HostContext::new(Capabilities::default())
}

fn expect_error(outcome: &Outcome, code: &str) {
    match &outcome.result {
        Err(error) => assert_eq!(error.code(), code, "{error}"),
        Ok(output) => panic!(
            "expected {code}, the run succeeded with {}",
            &output[..output.len().min(200)]
        ),
    }
}

async fn cases() -> Vec<Case> {
    let probe = probe().await;
    let deadline = Limits {
        timeout_ms: 1_000,
        ..Limits::default()
    };
    vec![
        Case {
            name: "infinite loop (JavaScript)",
            agent: javascript("export default function run() { while (true) {} }").await,
            input: "null".into(),
            limits: deadline.clone(),
            host: nothing(),
            check: |outcome, limits| {
                assert_eq!(outcome.result, Err(RunError::TimedOut { limit: limits.timeout() }));
                let allowed = limits.timeout() + limits.timeout() / 10;
                assert!(outcome.duration <= allowed, "stopped after {:?}, allowed {allowed:?}", outcome.duration);
                assert!(outcome.duration >= limits.timeout(), "not before the deadline: {:?}", outcome.duration);
            },
        },
        Case {
            name: "infinite loop (Rust)",
            agent: probe.clone(),
            input: op("spin"),
            limits: deadline,
            host: nothing(),
            check: |outcome, limits| {
                assert_eq!(outcome.result, Err(RunError::TimedOut { limit: limits.timeout() }));
                assert!(outcome.duration <= limits.timeout() + limits.timeout() / 10, "{:?}", outcome.duration);
            },
        },
        Case {
            name: "memory bomb (JavaScript)",
            agent: javascript(
                "export default function run() {\n  const keep = [];\n  while (true) keep.push(new Uint8Array(1 << 20));\n}",
            )
            .await,
            input: "null".into(),
            limits: Limits { memory_bytes: 64 << 20, ..Limits::default() },
            host: nothing(),
            check: |outcome, limits| {
                assert_eq!(outcome.result, Err(RunError::MemoryLimit { limit: limits.memory_bytes }));
                assert!(outcome.peak_memory_bytes <= limits.memory_bytes);
                assert_eq!(outcome.result.as_ref().unwrap_err().to_string(), "memory limit of 64 MiB exceeded");
            },
        },
        Case {
            name: "memory bomb (Rust)",
            agent: probe.clone(),
            input: op("alloc"),
            limits: Limits { memory_bytes: 32 << 20, ..Limits::default() },
            host: nothing(),
            check: |outcome, limits| assert_eq!(outcome.result, Err(RunError::MemoryLimit { limit: limits.memory_bytes })),
        },
        Case {
            name: "deep recursion (JavaScript)",
            agent: javascript("function down(n) { return down(n + 1) + 1; }\nexport default function run() { return down(0); }").await,
            input: "null".into(),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| expect_error(outcome, "stack_exhausted"),
        },
        Case {
            name: "deep recursion (Rust, the WebAssembly stack)",
            agent: probe.clone(),
            input: op("recurse"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| expect_error(outcome, "stack_exhausted"),
        },
        Case {
            name: "50 MB output (JavaScript)",
            agent: javascript("export default function run() { return new Array(50).fill('x'.repeat(1 << 20)).join(''); }").await,
            input: "null".into(),
            limits: Limits { memory_bytes: 512 << 20, ..Limits::default() },
            host: nothing(),
            check: |outcome, limits| {
                let Err(RunError::OutputTooLarge { size, limit }) = outcome.result else {
                    panic!("expected output_too_large, got {:?}", outcome.result.as_ref().map(|output| output.len()))
                };
                assert_eq!((size, limit), ((50 << 20) + 2, limits.output_bytes));
            },
        },
        Case {
            name: "50 MB output (Rust)",
            agent: probe.clone(),
            input: op("output:52428800"),
            limits: Limits { memory_bytes: 256 << 20, ..Limits::default() },
            host: nothing(),
            check: |outcome, _| expect_error(outcome, "output_too_large"),
        },
        Case {
            name: "log flood",
            agent: javascript(
                "export default function run() {\n  const line = 'y'.repeat(1000);\n  for (let i = 0; i < 20000; i++) console.log(line);\n  return 'done';\n}",
            )
            .await,
            input: "null".into(),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, limits| {
                assert_eq!(outcome.output(), Ok("\"done\""), "a flood is cut, not fatal");
                assert!(outcome.logs_truncated);
                let bytes: usize = outcome.logs.iter().map(|line| line.message.len()).sum();
                assert!(bytes as u64 <= limits.log_bytes, "{bytes} bytes kept");
                assert!(outcome.logs.len() > 100, "lines up to the budget are kept: {}", outcome.logs.len());
            },
        },
        Case {
            name: "log flood of empty lines",
            agent: javascript(
                "export default function run() {\n  for (let i = 0; i < 200000; i++) console.log('');\n  return 'done';\n}",
            )
            .await,
            input: "null".into(),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, limits| {
                assert!(outcome.is_success());
                assert!(outcome.logs_truncated, "empty lines are not free");
                assert!((outcome.logs.len() as u64) <= limits.log_bytes / 32, "{} lines kept", outcome.logs.len());
            },
        },
        Case {
            name: "log flood (Rust)",
            agent: probe.clone(),
            input: op("log-flood:20000"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| {
                assert!(outcome.is_success());
                assert!(outcome.logs_truncated);
            },
        },
        Case {
            name: "log flood through standard output (Rust)",
            agent: probe.clone(),
            input: op("print-flood:20000"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| {
                assert!(outcome.is_success());
                assert!(outcome.logs_truncated);
            },
        },
        Case {
            name: "http to a host not allowed",
            agent: javascript(
                "export default function run(input, ctx) {\n  return ctx.http.fetch('http://169.254.169.254/latest/meta-data/');\n}",
            )
            .await,
            input: "null".into(),
            limits: Limits::default(),
            host: HostContext::new(Capabilities { http: vec!["api.example.com".into()], ..Capabilities::default() }),
            check: |outcome, _| {
                let Err(RunError::Agent(failure)) = &outcome.result else { panic!("expected a denial, got {:?}", outcome.result) };
                assert!(failure.message.contains("denied: 169.254.169.254 is not among the hosts"), "{}", failure.message);
                assert_eq!(failure.line, Some(2));
            },
        },
        Case {
            name: "http from Rust to a host not allowed",
            agent: probe.clone(),
            input: op("http:http://127.0.0.1:1/"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| assert!(outcome.output().unwrap().starts_with("\"denied: http is not granted"), "{:?}", outcome.result),
        },
        Case {
            name: "files",
            agent: probe.clone(),
            input: op("files"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| {
                let seen = outcome.output().unwrap();
                assert!(!seen.contains("read ") && !seen.contains("listed "), "no file is visible: {seen}");
                assert_eq!(seen.matches(": error: ").count(), 4, "{seen}");
            },
        },
        Case {
            name: "environment",
            agent: probe.clone(),
            input: op("env"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| assert!(outcome.output().unwrap().starts_with(r#"{"vars":0,"args":0,"#), "{:?}", outcome.result),
        },
        Case {
            name: "clock precision",
            agent: probe.clone(),
            input: op("clock"),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| assert_eq!(outcome.output(), Ok(r#"{"wall_sub_ms_ns":0,"elapsed_sub_ms_ns":0}"#)),
        },
        Case {
            name: "host objects a script might look for",
            agent: javascript(
                "export default function run() {\n  return [typeof require, typeof process, typeof fetch, typeof Deno, typeof XMLHttpRequest, typeof performance, typeof setTimeout];\n}",
            )
            .await,
            input: "null".into(),
            limits: Limits::default(),
            host: nothing(),
            check: |outcome, _| assert_eq!(outcome.output(), Ok(r#"["undefined","undefined","undefined","undefined","undefined","undefined","undefined"]"#)),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_agents_fail_alone_while_benign_runs_succeed() {
    let cases = cases().await;
    let benign_js = javascript(&example("echo.js")).await;
    let benign_rust = runtime()
        .prepare_component(&rust_echo_bytes())
        .await
        .unwrap();

    // A stream of benign runs for as long as the hostile ones take.
    let done = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let mut benign = Vec::new();
    for worker in 0..2 {
        let (done, succeeded) = (done.clone(), succeeded.clone());
        let agent = if worker == 0 {
            benign_js.clone()
        } else {
            benign_rust.clone()
        };
        benign.push(tokio::spawn(async move {
            let mut count = 0_u32;
            while !done.load(Ordering::Relaxed) {
                count += 1;
                let input = format!(r#"{{"n":{count}}}"#);
                let limits = Limits {
                    timeout_ms: 5_000,
                    ..Limits::default()
                };
                let outcome = runtime()
                    .run(
                        &agent,
                        &input,
                        &limits,
                        HostContext::new(Capabilities::default()),
                    )
                    .await;
                let output = outcome
                    .output()
                    .unwrap_or_else(|error| panic!("benign run {count} failed: {error}"));
                assert!(
                    output.contains(&input),
                    "benign run {count} answered {output}"
                );
                succeeded.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }

    let hostile: Vec<_> = cases
        .into_iter()
        .map(|case| {
            tokio::spawn(async move {
                let outcome = runtime()
                    .run(&case.agent, &case.input, &case.limits, case.host.clone())
                    .await;
                (case.check)(&outcome, &case.limits);
                case.name
            })
        })
        .collect();
    let mut failures = Vec::new();
    for (index, handle) in hostile.into_iter().enumerate() {
        if let Err(error) = handle.await {
            failures.push(format!("case {index}: {error}"));
        }
    }
    done.store(true, Ordering::Relaxed);
    for handle in benign {
        handle.await.expect("every benign run succeeds");
    }
    assert!(
        failures.is_empty(),
        "hostile cases that did not end as expected:\n{}",
        failures.join("\n")
    );
    assert!(
        succeeded.load(Ordering::Relaxed) >= 20,
        "benign runs kept going: {}",
        succeeded.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn a_syntax_error_is_refused_at_prepare_time_with_its_position() {
    let error = runtime()
        .prepare_javascript(
            "agent.js",
            "export default function run() {\n  return {;\n}",
            &Limits::default(),
        )
        .await
        .err();
    let Some(PrepareError::Script(failure)) = error else {
        panic!("expected a script error, got {error:?}")
    };
    assert_eq!(
        (failure.code.as_str(), failure.line, failure.column),
        ("syntax-error", Some(2), Some(11))
    );
}

#[tokio::test]
async fn a_hostile_top_level_is_stopped_at_prepare_time() {
    let limits = Limits {
        timeout_ms: 500,
        ..Limits::default()
    };
    let error = runtime()
        .prepare_javascript(
            "agent.js",
            "while (true) {}\nexport default () => 1;",
            &limits,
        )
        .await
        .err();
    assert!(
        matches!(error, Some(PrepareError::Load(RunError::TimedOut { .. }))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_host_call_that_hangs_is_cut_at_the_deadline() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let agent = javascript(
        "export default function run(input, ctx) { return ctx.http.fetch(input.url).status; }",
    )
    .await;
    let host = HostContext::new(Capabilities {
        http: vec![address.to_string()],
        ..Capabilities::default()
    })
    .with_http(runtime::http::Fetcher::allowing_private_networks(
        Duration::from_secs(30),
    ));
    let limits = Limits {
        timeout_ms: 700,
        ..Limits::default()
    };
    let outcome = run_with(
        &agent,
        &format!(r#"{{"url":"http://{address}/slow"}}"#),
        limits.clone(),
        host,
    )
    .await;
    assert_eq!(
        outcome.result,
        Err(RunError::TimedOut {
            limit: limits.timeout()
        })
    );
    assert!(
        outcome.duration < limits.timeout() + Duration::from_millis(100),
        "{:?}",
        outcome.duration
    );
}
