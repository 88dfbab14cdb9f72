//! `agentdeck dev`: runs an agent on this machine, in the sandbox the server
//! uses (the `runtime` crate), and again on every save of its files. The
//! input is checked against the manifest's input schema first, with the
//! server's own checker; the key-value store lives for the whole session.
//!
//! Here: the flags, reading the files and one attempt at a run; `watch.rs`
//! runs it again on every save, `say.rs` prints each attempt.

mod say;
mod watch;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use runtime::{HostContext, Manifest, Outcome, PrepareError, Runtime, RuntimeOptions};
use serde_json::Value;
use types::json_schema::{Schema, Violation};

use crate::Failure;
use crate::folder::{self, Folder};
use say::{not_prepared, run_error, say};

/// `agentdeck dev [PATH]`.
#[derive(Debug, clap::Args)]
pub struct Dev {
    /// An agent folder (as `agentdeck init` makes it), a script (`.js`,
    /// `.mjs`) or a component (`.wasm`).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The input as JSON text (default: the folder's example.json, else
    /// null).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file with the input as JSON (`-`: standard input, read once).
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Capabilities and limits as a manifest (the server's format; default:
    /// the folder's manifest.json, else nothing granted and the default
    /// limits).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Grant the language model (AGENTDECK_LLM_BASE_URL, _API_KEY, _MODEL;
    /// the offline model when unset).
    #[arg(long)]
    llm: bool,
    /// Grant HTTP to a host (repeatable).
    #[arg(long, value_name = "HOST")]
    allow_host: Vec<String>,
    /// Let HTTP reach loopback and private addresses (refused by default,
    /// as on the server).
    #[arg(long)]
    private_network: bool,
    /// Grant key-value storage (in memory, kept across the session's runs).
    #[arg(long)]
    kv: bool,
    /// A configuration value, declared and granted (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
    config: Vec<(String, String)>,
    /// A secret, declared and granted (repeatable).
    #[arg(long = "secret", value_name = "KEY=VALUE", value_parser = key_value)]
    secrets: Vec<(String, String)>,
    /// The run's deadline, overriding the manifest's.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// The run's memory, overriding the manifest's.
    #[arg(long)]
    memory_mb: Option<u64>,
    /// The run's fuel, overriding the manifest's.
    #[arg(long)]
    fuel: Option<u64>,
    /// Where compiled components are kept (default:
    /// ~/.cache/agentdeck/cwasm).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Run once and exit: 0 when the run succeeded, 3 when it failed (or
    /// the agent does not compile), 1 when the input or files are wrong.
    #[arg(long)]
    once: bool,
    /// Only prepare the agent (a script is parsed and loaded, a component
    /// compiled) and print its digest.
    #[arg(long)]
    check: bool,
}

fn key_value(pair: &str) -> Result<(String, String), String> {
    let (key, value) = pair
        .split_once('=')
        .ok_or_else(|| format!("takes KEY=VALUE, not {pair:?}"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// Runs `agentdeck dev`.
pub async fn run(
    dev: Dev,
    json: bool,
    out: &mut dyn Write,
    stdin: &mut dyn Read,
) -> Result<(), Failure> {
    let session = Session::new(dev, stdin)?;
    if session.dev.once || session.dev.check {
        let attempt = session.attempt().await;
        say(out, json, &attempt, false)?;
        return attempt.verdict();
    }
    tokio::select! {
        watched = session.watch(json, out) => watched,
        Ok(()) = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// What is run: a folder, or one file.
enum Target {
    Folder(PathBuf),
    File(PathBuf),
}

/// Where the input comes from.
enum InputFrom {
    Text(String),
    File(PathBuf),
    /// The folder's example.json.
    Example,
}

/// The agent's code, as read for one run.
enum Code {
    Script(String),
    Component(Vec<u8>),
}

/// What one run reads from the files.
struct Loaded {
    /// The file's name, for messages (and a script's stack traces).
    name: String,
    code: Code,
    manifest: Manifest,
    input_schema: Option<Schema>,
    /// JSON text, not yet checked.
    input: String,
}

/// Why an input is refused, each problem with its JSON path.
struct Refusal {
    message: String,
    problems: Vec<Violation>,
}

/// One attempt at running the agent, and how it ended.
enum Attempt {
    /// The files could not be read or made sense of.
    Unreadable(String),
    /// The input is not JSON or does not meet the input schema; nothing ran.
    Refused(Refusal),
    /// The agent does not compile (or load).
    NotPrepared { name: String, error: PrepareError },
    /// `--check`: it is ready to run.
    Checked { name: String, digest: String },
    Ran {
        outcome: Outcome,
        /// The output's disagreements with the output schema: said, not
        /// refused, as in the editor's test runs.
        output_problems: Vec<Violation>,
    },
}

impl Attempt {
    /// The exit of `--once`: the CLI's codes (1 for what the user gave, 3
    /// for what the agent did).
    fn verdict(&self) -> Result<(), Failure> {
        let (message, code) = match self {
            Self::Checked { .. } => return Ok(()),
            Self::Ran { outcome, .. } => match &outcome.result {
                Ok(_) => return Ok(()),
                Err(error) => (format!("the run failed: {}", run_error(error)), 3),
            },
            Self::Unreadable(message) => (message.clone(), 1),
            Self::Refused(refusal) => (refusal.message.clone(), 1),
            Self::NotPrepared { name, error } => (not_prepared(name, error), 3),
        };
        Err(Failure { message, code })
    }
}

/// The sandbox and what lives as long as the command: the key-value store
/// above all, so state carries from one run to the next.
struct Session {
    dev: Dev,
    target: Target,
    input: InputFrom,
    runtime: Runtime,
    kv: Arc<runtime::kv::MemoryKv>,
    fetcher: runtime::http::Fetcher,
    llm: Arc<dyn runtime::llm::LlmProvider>,
}

impl Session {
    fn new(dev: Dev, stdin: &mut dyn Read) -> Result<Self, Failure> {
        let target = if dev.path.is_dir() {
            Target::Folder(dev.path.clone())
        } else if dev.path.is_file() {
            Target::File(dev.path.clone())
        } else {
            return Err(format!(
                "{}: no such agent folder or file (make a folder with `agentdeck init`)",
                dev.path.display()
            )
            .into());
        };
        let input = match (&dev.input, &dev.input_file) {
            (Some(text), _) => InputFrom::Text(text.clone()),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut text = String::new();
                stdin.read_to_string(&mut text)?;
                InputFrom::Text(text)
            }
            (None, Some(path)) => InputFrom::File(path.clone()),
            (None, None) if matches!(target, Target::Folder(_)) => InputFrom::Example,
            (None, None) => InputFrom::Text("null".to_owned()),
        };
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: dev.cache_dir.clone().or_else(default_cache_dir),
            ..RuntimeOptions::default()
        })?;
        let fetcher = if dev.private_network {
            runtime::http::Fetcher::allowing_private_networks(Duration::from_secs(30))
        } else {
            runtime::http::Fetcher::default()
        };
        Ok(Self {
            dev,
            target,
            input,
            runtime,
            kv: Arc::new(runtime::kv::MemoryKv::new()),
            fetcher,
            llm: Arc::from(runtime::llm::from_env()),
        })
    }

    /// Reads the files, checks the input, prepares the agent and (unless
    /// `--check`) runs it.
    async fn attempt(&self) -> Attempt {
        let loaded = match self.load() {
            Ok(loaded) => loaded,
            Err(failure) => return Attempt::Unreadable(failure.message),
        };
        // Before any sandbox work, as on the server.
        if !self.dev.check
            && let Err(refusal) = check_input(loaded.input_schema.as_ref(), &loaded.input)
        {
            return Attempt::Refused(refusal);
        }
        let limits = &loaded.manifest.limits;
        let prepared = match &loaded.code {
            Code::Script(source) => {
                self.runtime
                    .prepare_javascript(&loaded.name, source, limits)
                    .await
            }
            Code::Component(bytes) => self.runtime.prepare_component(bytes).await,
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                return Attempt::NotPrepared {
                    name: loaded.name,
                    error,
                };
            }
        };
        if self.dev.check {
            return Attempt::Checked {
                name: loaded.name,
                digest: prepared.digest().to_owned(),
            };
        }
        let host = HostContext::new(loaded.manifest.capabilities.clone())
            .with_kv(self.kv.clone())
            .with_http(self.fetcher.clone())
            .with_llm(Arc::clone(&self.llm))
            .with_config(self.dev.config.iter().cloned().collect())
            .with_secrets(self.dev.secrets.iter().cloned().collect());
        let outcome =
            Box::pin(
                self.runtime
                    .run(&prepared, &loaded.input, &loaded.manifest.limits, host),
            )
            .await;
        let output_problems = output_problems(loaded.manifest.output_schema.as_ref(), &outcome);
        Attempt::Ran {
            outcome,
            output_problems,
        }
    }

    /// What the agent is let do here, from its manifest and the flags, in
    /// words: a folder's manifest is obeyed as the server would, with this
    /// machine's model key and network, so the person should see it.
    fn grants(&self) -> Option<String> {
        let loaded = self.load().ok()?;
        let capabilities = &loaded.manifest.capabilities;
        let mut grants = Vec::new();
        if capabilities.llm {
            grants.push("the language model (AGENTDECK_LLM_*)".to_owned());
        }
        if !capabilities.http.is_empty() {
            grants.push(format!("HTTP to {}", capabilities.http.join(", ")));
        }
        if capabilities.kv {
            grants.push("key-value storage (in memory)".to_owned());
        }
        for (what, keys) in [
            ("configuration", &capabilities.config),
            ("secrets", &capabilities.secrets),
        ] {
            if !keys.is_empty() {
                grants.push(format!("{what} {}", keys.join(", ")));
            }
        }
        Some(if grants.is_empty() {
            "It may use nothing beyond its input.".to_owned()
        } else {
            format!("It may use: {}.", grants.join("; "))
        })
    }

    /// The files as they are now.
    fn load(&self) -> Result<Loaded, Failure> {
        let given_manifest = self
            .dev
            .manifest
            .as_deref()
            .map(read_manifest)
            .transpose()?;
        let (name, code, manifest, example) = match &self.target {
            Target::Folder(dir) => {
                let folder = Folder::open(dir)?;
                let manifest = given_manifest.unwrap_or(folder.manifest);
                (
                    folder::SOURCE.to_owned(),
                    Code::Script(folder.source),
                    manifest,
                    Some(folder.example),
                )
            }
            Target::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                let code = if is_script(path) {
                    Code::Script(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    Code::Component(bytes)
                };
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |name| name.to_string_lossy().into_owned(),
                );
                (name, code, given_manifest.unwrap_or_default(), None)
            }
        };
        let manifest = self.granted(manifest);
        let input_schema = match manifest.input_schema.as_ref().filter(|s| !s.is_null()) {
            Some(schema) => Some(
                Schema::compile(schema)
                    .map_err(|error| format!("the manifest's input_schema: {error}"))?,
            ),
            None => None,
        };
        let input = match &self.input {
            InputFrom::Text(text) => text.clone(),
            InputFrom::File(path) => std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
            InputFrom::Example => example.unwrap_or_else(|| "null".to_owned()),
        };
        Ok(Loaded {
            name,
            code,
            manifest,
            input_schema,
            input,
        })
    }

    /// `manifest` with the flags' grants added and their limits in place of
    /// its own.
    fn granted(&self, mut manifest: Manifest) -> Manifest {
        let dev = &self.dev;
        let capabilities = &mut manifest.capabilities;
        capabilities.llm |= dev.llm;
        capabilities.kv |= dev.kv;
        for (granted, added) in [
            (&mut capabilities.http, dev.allow_host.clone()),
            (
                &mut capabilities.config,
                dev.config.iter().map(|(key, _)| key.clone()).collect(),
            ),
            (
                &mut capabilities.secrets,
                dev.secrets.iter().map(|(key, _)| key.clone()).collect(),
            ),
        ] {
            for item in added {
                if !granted.contains(&item) {
                    granted.push(item);
                }
            }
        }
        if let Some(timeout_ms) = dev.timeout_ms {
            manifest.limits.timeout_ms = timeout_ms;
        }
        if let Some(memory_mb) = dev.memory_mb {
            manifest.limits.memory_bytes = memory_mb.saturating_mul(1 << 20);
        }
        if let Some(fuel) = dev.fuel {
            manifest.limits.fuel = fuel;
        }
        manifest
    }
}

fn is_script(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "js" || extension == "mjs")
}

fn read_manifest(path: &Path) -> Result<Manifest, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    Ok(serde_json::from_str(&text)
        .map_err(|error| format!("{} is not a manifest: {error}", path.display()))?)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("agentdeck").join("cwasm"))
}

/// The input against the schema, each violation with its JSON path.
fn check_input(schema: Option<&Schema>, input: &str) -> Result<(), Refusal> {
    let value: Value = serde_json::from_str(input).map_err(|error| Refusal {
        message: format!("the input is not JSON: {error}"),
        problems: Vec::new(),
    })?;
    let Some(schema) = schema else {
        return Ok(());
    };
    schema.check(&value, "input").map_err(|problems| Refusal {
        message: format!(
            "the input does not meet the input schema, so nothing ran:\n  {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
        problems,
    })
}

fn output_problems(schema: Option<&Value>, outcome: &Outcome) -> Vec<Violation> {
    let (Some(schema), Ok(output)) = (schema.filter(|s| !s.is_null()), &outcome.result) else {
        return Vec::new();
    };
    let Ok(output) = serde_json::from_str::<Value>(output) else {
        return Vec::new();
    };
    match Schema::compile(schema) {
        Ok(schema) => schema.check(&output, "output").err().unwrap_or_default(),
        Err(error) => vec![Violation {
            path: "output_schema".to_owned(),
            message: format!("does not compile: {error}"),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            key_value("TOKEN=a=b"),
            Ok(("TOKEN".to_owned(), "a=b".to_owned()))
        );
        assert!(key_value("TOKEN").is_err());
    }

    #[test]
    fn inputs_are_checked_with_their_paths() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "properties": { "name": { "type": "string" } },
            "required": ["name"]
        }))
        .unwrap();
        assert!(check_input(Some(&schema), r#"{"name":"Ada"}"#).is_ok());
        match check_input(Some(&schema), "{}") {
            Err(refusal) => assert_eq!(refusal.problems[0].path, "input.name"),
            Ok(()) => panic!("an input without a name was not refused"),
        }
        assert!(check_input(None, "{").is_err());
    }
}
