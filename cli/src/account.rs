//! Signing in through a browser (the device flow of RFC 8628) and managing
//! API keys from the terminal.

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{Value, json};
use types::account::{CreatedApiKey, DevicePoll, DevicePollStatus, DeviceSignIn, Scope};

use crate::{Api, Failure, said};

/// What `agentdeck login` asks for unless told otherwise: all the command
/// line uses.
pub const LOGIN_SCOPES: [Scope; 7] = [
    Scope::AgentsRead,
    Scope::AgentsWrite,
    Scope::DeploymentsWrite,
    Scope::RunsRead,
    Scope::RunsWrite,
    Scope::BillingRead,
    Scope::KeysWrite,
];

/// Reads `agents:read,runs:write` (or repeated flags) as scopes.
pub fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::parse(text.trim()).ok_or_else(|| {
        let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
        format!("unknown scope {text:?}; one of {}", known.join(", "))
    })
}

/// What this computer is called, for the approval page and the key's name.
fn this_computer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this computer".to_owned());
    let name = format!("agentdeck CLI on {host}");
    name.chars().take(60).collect()
}

/// Whether the server's approval link is one to hand to the system's
/// opener: an `http(s)` URL of the `/device` page, over HTTPS unless on
/// this machine. A hostile server could otherwise have `xdg-open` or
/// `explorer` open a file, a share or another scheme.
fn safe_to_open(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let local = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    url.path() == "/device"
        && url.username().is_empty()
        && url.password().is_none()
        && (url.scheme() == "https" || (url.scheme() == "http" && local))
}

/// Opens `url` in the browser, when there is a person at a terminal to see
/// it and the link is safe to open; quietly does nothing otherwise.
fn open_browser(url: &str) {
    if !safe_to_open(url) {
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// How `login` without a key goes.
pub struct DeviceLogin {
    pub scopes: Vec<Scope>,
    pub name: Option<String>,
    /// Whether to open the browser (a terminal, and not `--no-browser`).
    pub browser: bool,
}

/// Signs in through the browser: shows the code and the page, waits for
/// the person to approve, and answers the new key.
pub async fn device_login(
    api: &Api,
    login: DeviceLogin,
    out: &mut dyn Write,
) -> Result<CreatedApiKey, Failure> {
    let scopes = if login.scopes.is_empty() {
        LOGIN_SCOPES.to_vec()
    } else {
        login.scopes
    };
    let request = json!({
        "client_name": login.name.unwrap_or_else(this_computer),
        "scopes": scopes,
    });
    let started = api
        .call(reqwest::Method::POST, "/api/v1/device/code", &request)
        .await?;
    let started: DeviceSignIn = serde_json::from_value(started)?;
    writeln!(
        out,
        "Open {} and enter the code {}\n(or open {})",
        started.verification_uri, started.user_code, started.verification_uri_complete
    )?;
    out.flush()?;
    if login.browser {
        open_browser(&started.verification_uri_complete);
    }
    let spinner = crate::style::spinner("Waiting for the approval in the browser");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(started.expires_in));
    let mut interval = started.interval.max(1);
    let body = json!({ "device_code": started.device_code });
    loop {
        tokio::time::sleep(Duration::from_secs(u64::from(interval))).await;
        if tokio::time::Instant::now() >= deadline {
            spinner.finish_and_clear();
            return Err(
                "the code expired before it was approved; run `agentdeck login` again".into(),
            );
        }
        let answer = api
            .call(reqwest::Method::POST, "/api/v1/device/token", &body)
            .await;
        let poll: DevicePoll = match answer {
            Ok(answer) => serde_json::from_value(answer)?,
            Err(failure) => {
                spinner.finish_and_clear();
                return Err(failure);
            }
        };
        interval = poll.interval.max(1);
        if poll.status == DevicePollStatus::Approved {
            spinner.finish_and_clear();
            return poll
                .key
                .ok_or_else(|| "the server approved the sign-in without a key".into());
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Keys {
    /// The API keys this key may manage (its workspace's; all of yours from
    /// a browser session).
    Ls,
    /// Make a key: its token is printed this once. It holds no more scopes
    /// and expires no later than the key making it.
    Create {
        /// What it is for.
        #[arg(long)]
        name: String,
        /// A scope it holds (repeat, or separate with commas).
        #[arg(long = "scope", required = true, value_delimiter = ',', value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Days until it expires (default: when the key making it does, or never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// The most its runs may cost in a month, in credits.
        #[arg(long)]
        spend_cap: Option<i64>,
    },
    /// Revoke a key (by its id or its prefix `adk_…`), and the keys it made.
    Revoke { key: String },
}

pub async fn keys(
    api: &Api,
    command: Keys,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    match command {
        Keys::Ls => {
            let keys = api.get("/api/v1/api-keys").await?;
            if json {
                writeln!(out, "{keys}")?;
                return Ok(());
            }
            let keys = keys.as_array().cloned().unwrap_or_default();
            if keys.is_empty() {
                writeln!(out, "No keys.")?;
            }
            for key in keys {
                let state = if !key["revoked_at"].is_null() {
                    "revoked".to_owned()
                } else {
                    key["expires_at"]
                        .as_str()
                        .map_or_else(|| "no expiry".to_owned(), |at| format!("expires {at}"))
                };
                let scopes: Vec<&str> = key["scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                writeln!(
                    out,
                    "{}  {:<20} {}  [{}]  {}",
                    key["id"].as_str().unwrap_or("?"),
                    key["prefix"].as_str().unwrap_or("?"),
                    key["name"].as_str().unwrap_or("?"),
                    scopes.join(", "),
                    crate::style::dim(&state),
                )?;
            }
        }
        Keys::Create {
            name,
            scopes,
            expires_in_days,
            spend_cap,
        } => {
            let body = json!({
                "name": name,
                "scopes": scopes,
                "expires_in_days": expires_in_days,
                "spend_cap_credits": spend_cap,
            });
            let made = api
                .call(reqwest::Method::POST, "/api/v1/api-keys", &body)
                .await?;
            let token = made["token"].as_str().unwrap_or_default().to_owned();
            said(out, json, &made, &token)?;
            if !json {
                #[expect(
                    clippy::print_stderr,
                    reason = "standard output holds the token alone, for scripts"
                )]
                {
                    eprintln!("(the token is shown this once: keep it now)");
                }
            }
        }
        Keys::Revoke { key } => {
            let id = match uuid::Uuid::parse_str(&key) {
                Ok(id) => id.to_string(),
                Err(_) => {
                    let keys = api.get("/api/v1/api-keys").await?;
                    let prefix = key.split('_').take(2).collect::<Vec<_>>().join("_");
                    keys.as_array()
                        .into_iter()
                        .flatten()
                        .find(|known| known["prefix"].as_str() == Some(prefix.as_str()))
                        .and_then(|known| known["id"].as_str())
                        .map(str::to_owned)
                        .ok_or_else(|| format!("no key {key:?} among those this key manages"))?
                }
            };
            let answer = api
                .act(reqwest::Method::DELETE, &format!("/api/v1/api-keys/{id}"))
                .await?;
            said(out, json, &answer, &format!("{id} is revoked."))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_to_open;

    #[test]
    fn only_the_device_page_over_https_or_on_this_machine_is_opened() {
        assert!(safe_to_open(
            "https://agentdeck.example/device?code=BCDF-GHJK"
        ));
        assert!(safe_to_open("http://127.0.0.1:3000/device?code=BCDF-GHJK"));
        assert!(safe_to_open("http://localhost:3000/device"));
        for hostile in [
            "http://agentdeck.example/device?code=BCDF-GHJK",
            "file:///etc/passwd",
            "smb://host/share/x.exe",
            "https://agentdeck.example/elsewhere",
            "https://user:pw@agentdeck.example/device",
            "-a calculator",
            "javascript:alert(1)",
        ] {
            assert!(!safe_to_open(hostile), "{hostile}");
        }
    }
}
