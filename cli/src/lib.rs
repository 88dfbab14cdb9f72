//! `agentdeck`, the command line: the same REST API the browser app and
//! integrations use, from a terminal. Every command prints words for
//! people, or with `--json` the API's own answer for programs.
//!
//! Signing in keeps the server's URL and an API key in
//! `<config dir>/config.json` (`$AGENTDECK_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/agentdeck`, else `~/.config/agentdeck`), readable by
//! its owner only. `AGENTDECK_URL` and `AGENTDECK_API_KEY` override it.
//!
//! The commands so far: `login`, `logout`, `whoami`, `init`, `dev` (an
//! agent run here in the server's sandbox, again on every save), `test`,
//! `publish`, `deploy`, `logs [--follow]`, `deployments ls/stop/start/rm`,
//! `wallet`, `run`, `runs show`, `keys ls/create/revoke`. `login` without a key signs
//! in through the browser (RFC 8628's device flow).

mod account;
mod author;
mod dev;
mod flags;
pub mod folder;
mod live;
mod runs;
mod style;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap::Parser;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use types::error::ApiError;

/// The command line, as clap reads it.
#[derive(Debug, Parser)]
#[command(name = "agentdeck", version, about = "Agentdeck from a terminal")]
pub struct Cli {
    /// The server (default: the one signed in to, else http://127.0.0.1:3000).
    #[arg(long, global = true, env = "AGENTDECK_URL")]
    pub url: Option<String>,
    /// Print the API's answers as JSON, for programs.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in: through the browser (approve the code it shows), or with
    /// an API key made in Settings → API keys. The key is checked with the
    /// server and kept for the next commands.
    Login {
        /// An API key (`adk_…`), or `-` to read it from standard input;
        /// without it, sign in through the browser.
        #[arg(long, env = "AGENTDECK_API_KEY", hide_env_values = true)]
        key: Option<String>,
        /// Scopes to ask the browser sign-in for (repeat, or separate with
        /// commas; default: all the command line uses).
        #[arg(long = "scope", value_delimiter = ',', value_parser = account::parse_scope)]
        scopes: Vec<types::account::Scope>,
        /// The name the approval page and the key show (default:
        /// "agentdeck CLI on <this computer>").
        #[arg(long)]
        name: Option<String>,
        /// Print the link instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out here: a key a browser sign-in made for this terminal is
    /// revoked; a key given with `--key` is only forgotten (revoke it in
    /// Settings → API keys).
    Logout,
    /// Who the key acts for, and its workspaces.
    Whoami,
    /// Make a local agent folder: the built-in greeter (offline), or a
    /// server template (which creates the agent there too).
    Init {
        /// The folder to make.
        dir: PathBuf,
        /// The agent's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// A template's id (`GET /api/v1/templates`).
        #[arg(long)]
        template: Option<String>,
        /// A team's workspace (its slug); else the key's own.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Run an agent here, in the same sandbox as the server, again on every save.
    Dev(dev::Dev),
    /// Run the folder's agent once on the server, as the editor's Test
    /// button does: nothing is saved or published.
    Test {
        /// The agent folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The input as JSON text (default: the folder's example.json).
        #[arg(long)]
        input: Option<String>,
    },
    /// Save the folder as the agent's draft and publish it as a version.
    Publish {
        /// The agent folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// `MAJOR.MINOR.PATCH` (default: the newest version's next patch,
        /// or 1.0.0).
        #[arg(long)]
        version: Option<String>,
        /// What changed.
        #[arg(long, default_value = "")]
        changelog: String,
    },
    /// Deploy an agent and follow it live until it runs (or fails).
    Deploy(runs::Deploy),
    /// A deployment's events: status changes, runs and their log lines.
    Logs(runs::Logs),
    /// Deployments.
    #[command(subcommand)]
    Deployments(Deployments),
    /// Runs.
    #[command(subcommand)]
    Runs(Runs),
    /// API keys: list, make and revoke them (the key signed in needs
    /// `keys:write`, which `agentdeck login` asks for).
    #[command(subcommand)]
    Keys(account::Keys),
    /// The workspace's credits.
    Wallet {
        /// A team's workspace (its slug); else the key's own.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Run a deployment and print its output.
    Run(runs::Run),
}

#[derive(Debug, Subcommand)]
pub enum Runs {
    /// A run: its status, cost, log lines and output (or error).
    Show { run: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum Deployments {
    /// The deployments the key can see.
    Ls,
    /// Stop a running deployment.
    Stop { deployment: uuid::Uuid },
    /// Start a stopped deployment again.
    Start { deployment: uuid::Uuid },
    /// Delete a deployment (its runs stay readable).
    Rm { deployment: uuid::Uuid },
}

/// Where the command line reads and writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub stdin: &'a mut dyn std::io::Read,
    /// The configuration directory.
    pub config_dir: PathBuf,
    /// The key from the environment, which outranks the kept one.
    pub env_key: Option<String>,
    /// Whether `out` is a person's terminal: colours, spinners, a browser
    /// opened for `login`.
    pub terminal: bool,
}

/// What is kept between commands.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Config {
    url: Option<String>,
    key: Option<String>,
    /// The key's id when a browser sign-in made it: `logout`, and the
    /// next `login`, revoke it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_key: Option<String>,
}

/// A command that did not succeed: the words to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            message: error.to_string(),
            code: 1,
        }
    }
}

/// The configuration directory the environment names.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AGENTDECK_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME") {
        return PathBuf::from(dir).join("agentdeck");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".config").join("agentdeck")
}

fn read_config(dir: &Path) -> Result<Config, Failure> {
    match std::fs::read_to_string(dir.join("config.json")) {
        Ok(text) => serde_json::from_str(&text).map_err(|error| Failure {
            message: format!("{}: {error}", dir.join("config.json").display()),
            code: 1,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(error) => Err(error.into()),
    }
}

/// Writes the configuration readable by its owner only.
fn write_config(dir: &Path, config: &Config) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("config.json");
    let text = serde_json::to_string_pretty(config)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

/// The REST API at `url`, with `key`.
struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Value), Failure> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if !self.key.is_empty() {
            request = request.bearer_auth(&self.key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|error| Failure {
            message: format!(
                "could not reach {}: {error}\nIs the server running (`make run`), and is --url (or AGENTDECK_URL) right?",
                self.url
            ),
            code: 2,
        })?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| Failure {
                message: format!(
                    "{} answered {status} with something that is not JSON; is it an Agentdeck server?",
                    self.url
                ),
                code: 2,
            })?
        };
        if status >= 400 {
            return Err(api_failure(status, &body));
        }
        Ok((status, body))
    }

    async fn get(&self, path: &str) -> Result<Value, Failure> {
        Ok(self.send(reqwest::Method::GET, path, None, None).await?.1)
    }

    /// A call with a JSON body; its answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        Ok(self.send(method, path, Some(body), None).await?.1)
    }

    /// An action without a body (stop, start, delete); its answer.
    async fn act(&self, method: reqwest::Method, path: &str) -> Result<Value, Failure> {
        Ok(self.send(method, path, None, None).await?.1)
    }
}

/// An error answer in words: the message, each problem on a line of its
/// own, the request id to quote.
fn api_failure(status: u16, body: &Value) -> Failure {
    let error: Option<ApiError> = serde_json::from_value(body["error"].clone()).ok();
    let Some(error) = error else {
        return Failure {
            message: format!("the server answered {status}"),
            code: 1,
        };
    };
    let mut message = error.message.clone();
    if error.problems.len() > 1 {
        for problem in &error.problems {
            message.push_str(&format!("\n  {problem}"));
        }
    }
    if status >= 500
        && let Some(id) = &error.request_id
    {
        message.push_str(&format!(" (request id {id})"));
    }
    if status == 401 {
        message.push_str("\nSign in with `agentdeck login`.");
    }
    Failure { message, code: 1 }
}

/// Prints the API's answer (`--json`) or `words`.
fn said(out: &mut dyn Write, json: bool, answer: &Value, words: &str) -> std::io::Result<()> {
    if json {
        writeln!(out, "{answer}")
    } else {
        writeln!(out, "{words}")
    }
}

/// Runs one command line.
pub async fn run(cli: Cli, io: Io<'_>) -> Result<(), Failure> {
    style::init(io.terminal && !cli.json);
    let mut config = read_config(&io.config_dir)?;
    let url = cli
        .url
        .clone()
        .or_else(|| config.url.clone())
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned())
        .trim_end_matches('/')
        .to_owned();
    let http = reqwest::Client::builder()
        .user_agent(concat!("agentdeck-cli/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let api = |key: String| Api {
        http: http.clone(),
        url: url.clone(),
        key,
    };
    // The kept key goes only to the server it was made for: `--url`
    // elsewhere needs its own sign-in (or AGENTDECK_API_KEY).
    let kept_key = config.key.clone().filter(|_| {
        config
            .url
            .as_deref()
            .is_none_or(|kept| kept.trim_end_matches('/') == url)
    });
    let elsewhere = config.key.is_some() && kept_key.is_none();
    let signed_in = || {
        io.env_key
            .clone()
            .or_else(|| kept_key.clone())
            .map(&api)
            .ok_or_else(|| Failure {
                message: if elsewhere {
                    format!(
                        "the kept key is for {}, not {url}: run `agentdeck login --url {url}` (or set AGENTDECK_API_KEY)",
                        config.url.as_deref().unwrap_or("another server")
                    )
                } else {
                    "not signed in: run `agentdeck login` (or set AGENTDECK_API_KEY)".to_owned()
                },
                code: 1,
            })
    };
    let out = io.out;
    match cli.command {
        Command::Login {
            key,
            scopes,
            name,
            no_browser,
        } => {
            let mut new_device_key = None;
            // An empty AGENTDECK_API_KEY is no key.
            let key = key.filter(|key| !key.trim().is_empty());
            let key = match key.as_deref() {
                Some("-") => {
                    let mut text = String::new();
                    io.stdin.read_to_string(&mut text)?;
                    text
                }
                Some(key) => key.to_owned(),
                None => {
                    let login = account::DeviceLogin {
                        scopes,
                        name,
                        browser: !no_browser && io.terminal,
                    };
                    // Words go to standard error under --json, so the
                    // output stays one JSON document.
                    let mut stderr = std::io::stderr();
                    let words: &mut dyn Write = if cli.json { &mut stderr } else { &mut *out };
                    let made = account::device_login(&api(String::new()), login, words).await?;
                    new_device_key = Some(made.key.id.to_string());
                    made.token
                }
            };
            let key = key.trim().to_owned();
            if key.is_empty() {
                return Err("no key given: pass --key <key>, or --key - and pipe it in".into());
            }
            let me = api(key.clone()).get("/api/v1/me").await?;
            let replaced = (
                config.url.clone(),
                config.key.clone(),
                config.device_key.take(),
            );
            config.url = Some(url.clone());
            config.key = Some(key);
            config.device_key = new_device_key;
            write_config(&io.config_dir, &config)?;
            // The key an earlier browser sign-in made here goes: one
            // terminal, one key.
            if let (Some(old_url), Some(old_key), Some(id)) = replaced {
                let old = Api {
                    http: http.clone(),
                    url: old_url.trim_end_matches('/').to_owned(),
                    key: old_key,
                };
                let _ = old
                    .act(reqwest::Method::DELETE, &format!("/api/v1/api-keys/{id}"))
                    .await;
            }
            if cli.json {
                writeln!(out, "{me}")?;
            } else {
                writeln!(
                    out,
                    "Signed in to {url} as {} (@{}).",
                    me["user"]["display_name"].as_str().unwrap_or("?"),
                    me["user"]["handle"].as_str().unwrap_or("?")
                )?;
            }
        }
        Command::Logout => {
            // A key a browser sign-in made for this terminal is revoked;
            // a key made by hand is only forgotten here.
            let revoked = match (&config.device_key, &kept_key) {
                (Some(id), Some(key)) => api(key.clone())
                    .act(reqwest::Method::DELETE, &format!("/api/v1/api-keys/{id}"))
                    .await
                    .is_ok(),
                _ => false,
            };
            config.key = None;
            config.device_key = None;
            write_config(&io.config_dir, &config)?;
            if cli.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "signed_out": true, "key_revoked": revoked })
                )?;
            } else if revoked {
                writeln!(out, "Signed out; the key this terminal held is revoked.")?;
            } else {
                writeln!(
                    out,
                    "Signed out here; revoke the key in Settings if it is no longer needed."
                )?;
            }
        }
        Command::Whoami => {
            let me = signed_in()?.get("/api/v1/me").await?;
            if cli.json {
                writeln!(out, "{me}")?;
            } else {
                writeln!(
                    out,
                    "{} (@{}) at {url}",
                    me["user"]["display_name"].as_str().unwrap_or("?"),
                    me["user"]["handle"].as_str().unwrap_or("?")
                )?;
                for workspace in me["workspaces"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "  {}  {}",
                        workspace["slug"].as_str().unwrap_or("?"),
                        workspace["role"].as_str().unwrap_or("")
                    )?;
                }
            }
        }
        Command::Init {
            dir,
            name,
            template,
            workspace,
        } => {
            let name = name
                .or_else(|| {
                    dir.file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "My agent".to_owned());
            let api = signed_in().ok();
            let slug =
                author::init(api.as_ref(), &dir, &name, workspace, template.as_deref()).await?;
            if cli.json {
                writeln!(out, "{}", serde_json::json!({ "dir": dir, "slug": slug }))?;
            } else {
                let dir = dir.display();
                writeln!(
                    out,
                    "Made {dir} for the agent \u{201c}{name}\u{201d}. Next: `agentdeck dev {dir}` runs it \
                     here on every save; `agentdeck test --dir {dir}` once on the server; then \
                     `agentdeck publish --dir {dir}`."
                )?;
            }
        }
        Command::Dev(dev) => dev::run(dev, cli.json, out, io.stdin).await?,
        Command::Test { dir, input } => {
            author::test(&signed_in()?, &dir, input, cli.json, out).await?;
        }
        Command::Publish {
            dir,
            version,
            changelog,
        } => {
            author::publish(&signed_in()?, &dir, version, changelog, cli.json, out).await?;
        }
        Command::Deploy(args) => {
            runs::deploy(&signed_in()?, args, cli.json, out).await?;
        }
        Command::Logs(args) => {
            runs::logs(&signed_in()?, args, cli.json, out).await?;
        }
        Command::Deployments(Deployments::Ls) => {
            let page = signed_in()?.get("/api/v1/deployments").await?;
            if cli.json {
                writeln!(out, "{page}")?;
            } else {
                let items = page["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    writeln!(out, "No deployments.")?;
                }
                for item in items {
                    let status = item["status"].as_str().unwrap_or("?");
                    let padding = " ".repeat(9_usize.saturating_sub(status.len()));
                    writeln!(
                        out,
                        "{}  {}{padding} {} ({} {})",
                        item["id"].as_str().unwrap_or("?"),
                        style::status(status),
                        item["name"].as_str().unwrap_or("?"),
                        item["agent"]["slug"].as_str().unwrap_or("?"),
                        item["version"].as_str().unwrap_or("?"),
                    )?;
                }
            }
        }
        Command::Deployments(Deployments::Stop { deployment }) => {
            let path = format!("/api/v1/deployments/{deployment}/stop");
            let answer = signed_in()?.act(reqwest::Method::POST, &path).await?;
            said(
                out,
                cli.json,
                &answer,
                &format!("{deployment} is stopping."),
            )?;
        }
        Command::Deployments(Deployments::Start { deployment }) => {
            let path = format!("/api/v1/deployments/{deployment}/start");
            let answer = signed_in()?.act(reqwest::Method::POST, &path).await?;
            said(
                out,
                cli.json,
                &answer,
                &format!("{deployment} is starting."),
            )?;
        }
        Command::Deployments(Deployments::Rm { deployment }) => {
            let path = format!("/api/v1/deployments/{deployment}");
            let answer = signed_in()?.act(reqwest::Method::DELETE, &path).await?;
            said(out, cli.json, &answer, &format!("{deployment} is deleted."))?;
        }
        Command::Runs(Runs::Show { run }) => {
            runs::show(&signed_in()?, run, cli.json, out).await?;
        }
        Command::Keys(command) => {
            account::keys(&signed_in()?, command, cli.json, out).await?;
        }
        Command::Wallet { workspace } => {
            let path = match &workspace {
                Some(slug) => format!("/api/v1/wallet?workspace={slug}"),
                None => "/api/v1/wallet".to_owned(),
            };
            let wallet = signed_in()?.get(&path).await?;
            if cli.json {
                writeln!(out, "{wallet}")?;
            } else {
                writeln!(
                    out,
                    "{} credits",
                    wallet["balance"]
                        .as_i64()
                        .map_or_else(|| "?".to_owned(), |n| n.to_string())
                )?;
            }
        }
        Command::Run(args) => {
            runs::run(&signed_in()?, args, cli.json, out, io.stdin).await?;
        }
    }
    Ok(())
}
