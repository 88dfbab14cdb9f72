//! Runs an agent on this machine, in the same sandbox the server uses, and
//! prints the outcome as JSON.
//!
//! ```text
//! agentdeck-agent run agents/examples/echo.js --input '{"text":"hi"}'
//! agentdeck-agent run agent.wasm --input-file input.json --manifest manifest.json
//! agentdeck-agent check agents/examples/summarizer.js
//! ```

use runtime::{Capabilities, HostContext, Manifest, Runtime, RuntimeOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage:
  agentdeck-agent run <agent.js|agent.wasm> [options]
  agentdeck-agent check <agent.js>

options:
  --input <json>          the run's input (default: null)
  --input-file <path>     read the input from a file
  --manifest <path>       capabilities and limits as JSON:
                          {\"capabilities\":{\"llm\":true,\"http\":[\"api.example.com\"],\"kv\":true,
                            \"config\":[\"KEY\"],\"secrets\":[\"TOKEN\"]},\"limits\":{\"timeout_ms\":5000}}
  --llm                   grant the language model (AGENTDECK_LLM_BASE_URL, _API_KEY, _MODEL;
                          the offline model when unset)
  --allow-host <host>     grant http to a host (repeatable)
  --private-network       let http reach loopback and private addresses (refused
                          by default, as on the server)
  --kv                    grant key-value storage (in memory, for this run)
  --config <key=value>    a configuration value, declared and granted (repeatable)
  --secret <key=value>    a secret, declared and granted (repeatable)
  --timeout-ms <n>  --memory-mb <n>  --fuel <n>
  --cache-dir <path>      compiled components (default: ~/.cache/agentdeck/cwasm)

The outcome is printed as JSON; the exit code is 0 when the run succeeded,
1 when it ended with an error, 2 for a usage error.";

struct Arguments {
    command: String,
    file: PathBuf,
    input: String,
    manifest: Manifest,
    config: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
    cache_dir: Option<PathBuf>,
    private_network: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Arguments, String> {
    let command = args.next().ok_or("no command given")?;
    if command != "run" && command != "check" {
        return Err(format!("unknown command {command:?}"));
    }
    let file = PathBuf::from(args.next().ok_or("no agent file given")?);
    let mut parsed = Arguments {
        command,
        file,
        input: "null".into(),
        manifest: Manifest::default(),
        config: Vec::new(),
        secrets: Vec::new(),
        cache_dir: default_cache_dir(),
        private_network: false,
    };
    let mut capabilities = Capabilities::default();
    let (mut timeout_ms, mut memory_mb, mut fuel) = (None, None, None);
    let mut manifest: Option<Manifest> = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))
        };
        match flag.as_str() {
            "--input" => parsed.input = value()?,
            "--input-file" => {
                let path = value()?;
                parsed.input = std::fs::read_to_string(&path)
                    .map_err(|error| format!("cannot read {path}: {error}"))?;
            }
            "--manifest" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| format!("cannot read {path}: {error}"))?;
                manifest = Some(
                    serde_json::from_str(&text)
                        .map_err(|error| format!("{path} is not a manifest: {error}"))?,
                );
            }
            "--llm" => capabilities.llm = true,
            "--kv" => capabilities.kv = true,
            "--private-network" => parsed.private_network = true,
            "--allow-host" => capabilities.http.push(value()?),
            "--config" | "--secret" => {
                let pair = value()?;
                let (key, item) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("{flag} takes key=value, not {pair:?}"))?;
                let (declared, values) = if flag == "--config" {
                    (&mut capabilities.config, &mut parsed.config)
                } else {
                    (&mut capabilities.secrets, &mut parsed.secrets)
                };
                declared.push(key.to_owned());
                values.push((key.to_owned(), item.to_owned()));
            }
            "--timeout-ms" => timeout_ms = Some(number(value()?)?),
            "--memory-mb" => memory_mb = Some(number(value()?)?),
            "--fuel" => fuel = Some(number(value()?)?),
            "--cache-dir" => parsed.cache_dir = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let mut manifest = manifest.unwrap_or_default();
    manifest.capabilities.llm |= capabilities.llm;
    manifest.capabilities.kv |= capabilities.kv;
    manifest.capabilities.http.extend(capabilities.http);
    manifest.capabilities.config.extend(capabilities.config);
    manifest.capabilities.secrets.extend(capabilities.secrets);
    // Flags override the manifest's limits.
    if let Some(timeout_ms) = timeout_ms {
        manifest.limits.timeout_ms = timeout_ms;
    }
    if let Some(memory_mb) = memory_mb {
        manifest.limits.memory_bytes = memory_mb.saturating_mul(1 << 20);
    }
    if let Some(fuel) = fuel {
        manifest.limits.fuel = fuel;
    }
    parsed.manifest = manifest;
    Ok(parsed)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("agentdeck").join("cwasm"))
}

fn print(value: &impl serde::Serialize) {
    let mut stdout = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(value)
        .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"));
    let _ = writeln!(stdout, "{text}");
}

fn fail(message: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "agentdeck-agent: {message}");
    ExitCode::from(code)
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = match parse(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(message) => return fail(&format!("{message}\n\n{USAGE}"), 2),
    };
    let code = match std::fs::read(&arguments.file) {
        Ok(code) => code,
        Err(error) => {
            return fail(
                &format!("cannot read {}: {error}", arguments.file.display()),
                2,
            );
        }
    };
    let options = RuntimeOptions {
        cache_dir: arguments.cache_dir.clone(),
        ..RuntimeOptions::default()
    };
    let runtime = match Runtime::new(options) {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error.to_string(), 1),
    };
    let javascript = arguments
        .file
        .extension()
        .is_some_and(|extension| extension == "js" || extension == "mjs");
    let prepared = if javascript {
        let name = arguments
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = String::from_utf8_lossy(&code);
        runtime
            .prepare_javascript(&name, &source, &arguments.manifest.limits)
            .await
    } else {
        runtime.prepare_component(&code).await
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            print(
                &serde_json::json!({ "error": { "code": "prepare_failed", "message": error.to_string() } }),
            );
            return ExitCode::from(1);
        }
    };
    if arguments.command == "check" {
        print(&serde_json::json!({ "ok": true, "digest": prepared.digest() }));
        return ExitCode::SUCCESS;
    }
    let kv = Arc::new(runtime::kv::MemoryKv::new());
    let fetcher = if arguments.private_network {
        runtime::http::Fetcher::allowing_private_networks(std::time::Duration::from_secs(30))
    } else {
        runtime::http::Fetcher::default()
    };
    let host = HostContext::new(arguments.manifest.capabilities.clone())
        .with_kv(kv)
        .with_http(fetcher)
        .with_llm(Arc::from(runtime::llm::from_env()))
        .with_config(arguments.config.into_iter().collect())
        .with_secrets(arguments.secrets.into_iter().collect());
    let outcome = runtime
        .run(
            &prepared,
            &arguments.input,
            &arguments.manifest.limits,
            host,
        )
        .await;
    print(&outcome);
    if outcome.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
