//! `agentdeck dev` through the real binary: a folder `agentdeck init` made
//! (offline), single scripts and a component, run once or watched while
//! the test edits the files.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking, with the reason"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The command with a configuration directory of its own, no key and no
/// language model from the environment, and the compiled components the
/// runtime's own tests keep (the JavaScript runner is compiled once).
fn agentdeck(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentdeck"));
    command
        .env("AGENTDECK_CONFIG_DIR", config)
        .env_remove("AGENTDECK_API_KEY")
        .env_remove("AGENTDECK_URL")
        .env_remove("AGENTDECK_LLM_BASE_URL");
    command
}

/// `agentdeck [args] --cache-dir …`, run to its end.
fn dev(config: &Path, args: &[&str]) -> Output {
    agentdeck(config)
        .args(args)
        .arg("--cache-dir")
        .arg(runtime::build_cache_dir())
        .output()
        .expect("agentdeck runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one JSON object `--json` printed.
fn printed_json(output: &Output) -> Value {
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one object per run: {stdout}");
    serde_json::from_str(lines[0]).expect("JSON")
}

/// A temporary directory with a configuration directory and the greeter
/// folder `agentdeck init` makes without a server.
struct Place {
    root: tempfile::TempDir,
}

impl Place {
    fn new() -> Self {
        let place = Self {
            root: tempfile::tempdir().unwrap(),
        };
        let made = agentdeck(&place.config())
            .arg("init")
            .arg(place.folder())
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", text(&made.stderr));
        place
    }

    fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }

    fn folder(&self) -> PathBuf {
        self.root.path().join("greeter")
    }

    fn folder_arg(&self) -> String {
        self.folder().display().to_string()
    }

    fn write_source(&self, source: &str) {
        std::fs::write(self.folder().join("agent.js"), source).unwrap();
    }
}

fn example(name: &str) -> String {
    format!("{}/../agents/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn once_runs_the_folder_with_its_example() {
    let place = Place::new();
    let folder = place.folder_arg();
    let output = dev(&place.config(), &["dev", &folder, "--once"]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("[ info] greeting Ada"), "{stdout}");
    assert!(stdout.contains(r#""greeting": "Hello, Ada!""#), "{stdout}");
    assert!(stdout.contains("succeeded in "), "{stdout}");

    let output = dev(
        &place.config(),
        &[
            "--json",
            "dev",
            &folder,
            "--once",
            "--input",
            r#"{"name":"Grace"}"#,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let outcome = printed_json(&output);
    assert_eq!(outcome["output"], json!({ "greeting": "Hello, Grace!" }));
    assert_eq!(outcome["logs"][0]["message"], "greeting Grace");
    assert!(outcome["fuel_used"].as_u64().unwrap() > 0, "{outcome}");
}

#[test]
fn a_bad_input_is_refused_with_its_path_before_running() {
    let place = Place::new();
    let folder = place.folder_arg();
    let output = dev(
        &place.config(),
        &["dev", &folder, "--once", "--input", "{}"],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("input.name: "), "{stderr}");
    // The greeter logs before it answers.
    assert!(!stdout.contains("greeting"), "it ran: {stdout}");

    let output = dev(
        &place.config(),
        &[
            "--json",
            "dev",
            &folder,
            "--once",
            "--input",
            r#"{"name":""}"#,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let refused = printed_json(&output);
    assert_eq!(refused["error"]["code"], "invalid_input", "{refused}");
    assert_eq!(refused["error"]["problems"][0]["path"], "input.name");

    let output = dev(&place.config(), &["dev", &folder, "--once", "--input", "{"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("the input is not JSON"));
}

#[test]
fn failures_exit_with_3() {
    let place = Place::new();
    let folder = place.folder_arg();
    place.write_source(
        "export default function run(input, ctx) {\n  ctx.log.warn(\"about to throw\");\n  throw new Error(\"no luck\");\n}\n",
    );
    let output = dev(&place.config(), &["dev", &folder, "--once"]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("[ warn] about to throw"), "{stdout}");
    assert!(stdout.contains("failed (agent_error)"), "{stdout}");
    assert!(
        stderr.contains("the run failed: ") && stderr.contains("no luck"),
        "{stderr}"
    );

    place.write_source("export default function run() {\n  return (;\n}\n");
    let output = dev(&place.config(), &["dev", &folder, "--once"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("agent.js does not compile: ") && stderr.contains("(line 2, column 11)"),
        "{stderr}"
    );
    let output = dev(&place.config(), &["--json", "dev", &folder, "--check"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(printed_json(&output)["error"]["code"], "prepare_failed");

    let spin = place.root.path().join("spin.js");
    std::fs::write(&spin, "export default function run() { for (;;) {} }\n").unwrap();
    let spin = spin.display().to_string();
    let output = dev(
        &place.config(),
        &["--json", "dev", &spin, "--once", "--timeout-ms", "300"],
    );
    assert_eq!(output.status.code(), Some(3));
    let outcome = printed_json(&output);
    assert_eq!(outcome["error"]["code"], "timed_out", "{outcome}");
    assert_eq!(outcome["error"]["message"], "timed out after 300 ms");

    let missing = place.root.path().join("missing");
    let output = dev(
        &place.config(),
        &["dev", missing.to_str().unwrap(), "--once"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no such agent folder or file"));

    let output = dev(&place.config(), &["dev", &folder, "--bogus"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
}

#[test]
fn single_files_run_with_flags_as_grants() {
    let place = Place::new();
    let config = place.config();
    let echo = example("echo.js");
    let output = dev(
        &config,
        &["--json", "dev", &echo, "--once", "--input", r#"{"hi":1}"#],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let outcome = printed_json(&output);
    assert_eq!(outcome["output"], json!({ "echo": { "hi": 1 } }));
    assert_eq!(outcome["logs"][0]["message"], r#"echoing {"hi":1}"#);

    let mut piped = agentdeck(&config)
        .args(["dev", &echo, "--once", "--input-file", "-", "--cache-dir"])
        .arg(runtime::build_cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut piped.stdin.take().unwrap(), b"[7]").unwrap();
    let output = piped.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("\"echo\": [\n    7\n  ]"));

    let output = dev(&config, &["--json", "dev", &echo, "--check"]);
    let checked = printed_json(&output);
    assert_eq!(checked["ok"], true);
    assert_eq!(checked["digest"].as_str().map(str::len), Some(64));

    let summarizer = example("summarizer.js");
    let input = r#"{"text":"One two three."}"#;
    let output = dev(
        &config,
        &["--json", "dev", &summarizer, "--once", "--input", input],
    );
    assert_eq!(output.status.code(), Some(3), "llm is not granted");
    let outcome = printed_json(&output);
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("denied: llm is not granted"),
        "{outcome}"
    );
    let output = dev(
        &config,
        &[
            "--json",
            "dev",
            &summarizer,
            "--llm",
            "--once",
            "--input",
            input,
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(printed_json(&output)["output"]["summary"], "One two three.");

    let manifest = place.root.path().join("manifest.json");
    std::fs::write(&manifest, r#"{"capabilities":{"kv":true}}"#).unwrap();
    let output = dev(
        &config,
        &[
            "--json",
            "dev",
            &example("counter.js"),
            "--once",
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    );
    assert_eq!(printed_json(&output)["output"]["count"], 1);
}

#[test]
fn components_run_too() {
    let place = Place::new();
    // Built by runtime/build.rs next to the cache its tests use.
    let component = runtime::build_cache_dir()
        .parent()
        .unwrap()
        .join("wasm32-wasip2/release/rust_echo.wasm");
    let output = dev(
        &place.config(),
        &[
            "--json",
            "dev",
            component.to_str().unwrap(),
            "--once",
            "--input",
            "[1,2,3]",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(printed_json(&output)["output"], json!([1, 2, 3]));
}

/// `agentdeck dev` left running, its output read line by line; killed when
/// dropped.
struct Watching {
    child: Child,
    lines: Receiver<String>,
    /// Every line so far.
    seen: Vec<String>,
}

impl Watching {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .arg("--cache-dir")
            .arg(runtime::build_cache_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads until a line contains `wanted`; the lines read, that one
    /// last.
    fn until(&mut self, wanted: &str, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut read = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    read.push(line.clone());
                    if line.contains(wanted) {
                        return read;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {wanted:?} within {timeout:?}; so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("it ended before {wanted:?}:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// The lines that arrive within `quiet`.
    fn more(&mut self, quiet: Duration) -> Vec<String> {
        let mut read = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line.clone());
            read.push(line);
        }
        read
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first run compiles the JavaScript runner when no test did yet.
const FIRST: Duration = Duration::from_secs(300);
const NEXT: Duration = Duration::from_secs(60);
/// Four polls: long enough for a save to have run the agent twice.
const SETTLE: Duration = Duration::from_secs(1);

#[test]
fn watching_runs_again_on_every_save() {
    let place = Place::new();
    let mut command = agentdeck(&place.config());
    command.arg("dev").arg(place.folder());
    let mut watching = Watching::start(command);

    let first = watching.until("succeeded in", FIRST);
    assert_eq!(first[0], "— run 1 —");
    assert!(
        first.iter().any(|line| line.contains("\"Hello, Ada!\"")),
        "{first:?}"
    );
    let told = watching.until("Watching agent.js, manifest.json, example.json", NEXT);
    // The greeter's manifest grants nothing, and it says so.
    assert!(
        told.iter()
            .any(|line| line == "It may use nothing beyond its input."),
        "{told:?}"
    );
    assert_eq!(watching.more(SETTLE), Vec::<String>::new());

    place.write_source(
        "export default async function run(input) {\n  return { greeting: `Bonjour, ${input.name}!` };\n}\n",
    );
    let second = watching.until("succeeded in", NEXT);
    assert_eq!(second[0], "— run 2 (agent.js changed) —");
    assert!(
        second.iter().any(|line| line.contains("\"Bonjour, Ada!\"")),
        "{second:?}"
    );
    assert_eq!(
        watching.more(SETTLE),
        Vec::<String>::new(),
        "one save, one run"
    );

    place.write_source("export default function run() {\n  return (;\n}\n");
    let third = watching.until("does not compile", NEXT);
    assert_eq!(third[0], "— run 3 (agent.js changed) —");
    assert!(third[1].contains("(line 2, column 11)"), "{third:?}");
    assert_eq!(watching.more(SETTLE), Vec::<String>::new());
    assert!(watching.child.try_wait().unwrap().is_none(), "it stopped");

    // The example changes too: one run naming both.
    place.write_source(
        "export default async function run(input) {\n  return { greeting: `Hola, ${input.name}!` };\n}\n",
    );
    std::fs::write(place.folder().join("example.json"), r#"{"name":"Lin"}"#).unwrap();
    let fourth = watching.until("succeeded in", NEXT);
    assert!(fourth[0].starts_with("— run 4 (agent.js"), "{fourth:?}");
    assert!(
        fourth.iter().any(|line| line.contains("\"Hola, Lin!\"")),
        "{fourth:?}"
    );
}

#[test]
fn the_store_lives_across_runs_and_json_prints_one_line_per_run() {
    let place = Place::new();
    let counter = place.root.path().join("counter.js");
    std::fs::copy(example("counter.js"), &counter).unwrap();
    let mut command = agentdeck(&place.config());
    command.args(["--json", "dev"]).arg(&counter).arg("--kv");
    let mut watching = Watching::start(command);

    let first: Value = serde_json::from_str(&watching.until("output", FIRST)[0]).unwrap();
    assert_eq!(first["output"]["count"], 1, "{first}");
    let mut source = std::fs::read_to_string(&counter).unwrap();
    source.push_str("// saved again\n");
    std::fs::write(&counter, source).unwrap();
    let second: Value = serde_json::from_str(&watching.until("output", NEXT)[0]).unwrap();
    assert_eq!(second["output"]["count"], 2, "{second}");
}
