//! Typed configuration, read once at start-up from the environment (and a
//! `.env` file in development). Every variable has a default that works on a
//! laptop; a bad value stops start-up with the variable named.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `AGENTDECK_ADDR`: where the server listens.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: an existing PostgreSQL database. Without it the server
    /// runs a private PostgreSQL in `data_dir`.
    pub database_url: Option<String>,
    /// `AGENTDECK_DATA_DIR`: local state (the embedded database).
    pub data_dir: PathBuf,
    /// `AGENTDECK_DIST_DIR`: the built SPA.
    pub dist_dir: PathBuf,
    /// `AGENTDECK_DB_POOL_SIZE`: connections in the pool.
    pub db_pool_size: usize,
    /// `AGENTDECK_SEED`: fill the marketplace with the launch line-up.
    pub seed: bool,
    /// `AGENTDECK_HEARTBEAT_MS`: period of the `system` heartbeat.
    pub heartbeat_interval: Duration,
    /// `AGENTDECK_LOG_FORMAT`: `text` or `json`. Filtering is `RUST_LOG`.
    pub log_format: LogFormat,
    /// `AGENTDECK_PG_BIN`: directory of `initdb` and `postgres` for the
    /// embedded database; searched for when unset.
    pub pg_bin_dir: Option<PathBuf>,
    /// `AGENTDECK_PG_USER`: the account the embedded database runs as when
    /// the server runs as root.
    pub pg_user: String,
    /// `AGENTDECK_PUBLIC_URL`: the origin browsers use (`https://...` in
    /// production). Decides cookie names and flags and the OAuth redirect URI.
    pub public_url: String,
    /// `AGENTDECK_SESSION_IDLE_HOURS` and `AGENTDECK_SESSION_MAX_DAYS`.
    pub sessions: service::auth::SessionPolicy,
    /// `AGENTDECK_LOGIN_LIMIT`: failed sign-ins per account, as
    /// `<free failures>/<longest wait in seconds>` (default `5/900`: after
    /// five, each failure doubles the wait from one second up to 15
    /// minutes), and `AGENTDECK_API_LIMIT`: API requests per IP, as
    /// `<requests>/<seconds>`; `AGENTDECK_DEVICE_LIMIT`: device sign-ins
    /// (`agentdeck login`) started per IP, the same way (default `30/3600`).
    pub limits: crate::rate_limit::LimitSettings,
    /// `AGENTDECK_TRUSTED_PROXIES`: comma-separated CIDRs of the load
    /// balancers or reverse proxies in front of the server, whose
    /// `X-Forwarded-For` names the client (`client_addr`). Unset, the
    /// header is ignored and the connection's peer is the client.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// `AGENTDECK_LIVE_SOCKETS`: open WebSockets one account and one client
    /// address may have on this server, `<per account>/<per address>`
    /// (default `32/128`).
    pub live_sockets: crate::live::hub::SocketCaps,
    /// Mail: `AGENTDECK_SMTP_URL` (`smtp://host:port`, `smtp://…?tls=required`
    /// or `smtps://user:password@host`); unset, mail is written to
    /// `<data dir>/outbox`. `AGENTDECK_MAIL_FROM` is the sender (default
    /// `Agentdeck <noreply@localhost>`).
    pub mail: MailConfig,
    /// Sign-in with GitHub: on when `AGENTDECK_GITHUB_CLIENT_ID` is set (then
    /// `AGENTDECK_GITHUB_CLIENT_SECRET` must be too). The provider's URLs are
    /// `AGENTDECK_GITHUB_AUTHORIZE_URL`, `_TOKEN_URL` and `_API_URL`.
    pub github: Option<service::auth::github::GithubConfig>,
    /// Connections: the built-in provider catalogue plus the operator's own
    /// entries in `AGENTDECK_PROVIDERS_DIR` (`*.toml`, docs/connections.md).
    pub providers: service::connections::catalogue::Catalogue,
    /// The operator's app at each sign-in provider:
    /// `AGENTDECK_CONNECT_<ID>_CLIENT_ID` and `_CLIENT_SECRET` (the id
    /// upper-cased, `-` as `_`). Providers without one show as unavailable.
    pub connect_clients: std::collections::BTreeMap<String, service::connections::OAuthClient>,
    /// The agent sandbox: where compiled agents are cached, the model behind
    /// `llm`, and whether agents may reach private networks.
    pub sandbox: SandboxConfig,
    /// `AGENTDECK_WORKERS`: jobs this process runs at once (0: none, the
    /// process only serves) and `AGENTDECK_JOB_LEASE_SECS`: how long a job
    /// stays a dead worker's before another takes it over.
    pub workers: crate::jobs::WorkerConfig,
    /// `AGENTDECK_RUN_WAIT_MS`: how long a synchronous run request waits
    /// before answering 202 with the run, which goes on.
    pub run_wait: Duration,
    /// `AGENTDECK_STARTER_CREDITS`: credits a new account starts with, and
    /// `AGENTDECK_CREATOR_SHARE_PERCENT`: the creator's share of a paid run
    /// (the platform keeps the rest).
    pub billing: service::ledger::Billing,
    /// Buying credits: on when `AGENTDECK_STRIPE_SECRET_KEY` is set (then
    /// `AGENTDECK_STRIPE_WEBHOOK_SECRET` must be too). The provider's API is
    /// `AGENTDECK_STRIPE_API_URL` (any Stripe-compatible one); a credit costs
    /// `AGENTDECK_CREDIT_PRICE_CENTS` (default 1) of `AGENTDECK_CURRENCY`
    /// (default `usd`).
    pub payments: Option<service::payments::PaymentsConfig>,
    /// `AGENTDECK_SECRETS_KEY`: 64 hex digits (32 bytes, e.g. from
    /// `openssl rand -hex 32`) that deployment secrets are encrypted with.
    /// Unset: a key kept in `<data dir>/secrets.key`, made on first start;
    /// servers that share a database must share this key.
    pub secrets_key: Option<[u8; 32]>,
    /// `AGENTDECK_WEBHOOKS_PRIVATE`: outgoing webhooks may go to loopback
    /// and private addresses too (local development and tests; default
    /// false: public addresses only, as the sandbox's rules).
    pub webhooks_private: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailConfig {
    pub from: String,
    pub delivery: service::mail::Delivery,
}

impl MailConfig {
    /// Checks the sender and the SMTP URL (start-up, before any runtime).
    pub fn check(&self) -> Result<(), ConfigError> {
        service::mail::Mailer::check(&self.from, &self.delivery).map_err(|e| self.error(e))
    }

    /// The mailer; within a Tokio runtime (SMTP starts its pool).
    pub fn mailer(&self) -> Result<service::mail::Mailer, ConfigError> {
        service::mail::Mailer::new(&self.from, self.delivery.clone()).map_err(|e| self.error(e))
    }

    /// The variable at fault: the SMTP URL's errors say what a URL looks like.
    fn error(&self, message: String) -> ConfigError {
        ConfigError {
            name: if message.contains("smtp://") {
                "AGENTDECK_SMTP_URL"
            } else {
                "AGENTDECK_MAIL_FROM"
            },
            message,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// `AGENTDECK_CWASM_DIR`: compiled components (default `<data dir>/cwasm`).
    pub cache_dir: PathBuf,
    /// `AGENTDECK_LLM_BASE_URL`: an OpenAI-compatible API
    /// (`POST {base}/chat/completions`); without it a deterministic offline
    /// model answers.
    pub llm_base_url: Option<String>,
    /// `AGENTDECK_LLM_API_KEY`, sent as a bearer token.
    pub llm_api_key: Option<String>,
    /// `AGENTDECK_LLM_MODEL`: the model asked when an agent names none.
    pub llm_model: String,
    /// `AGENTDECK_LLM_MODELS`: the models agents may ask for and their
    /// prices in credits per 1,000 tokens of prompt and of answer,
    /// `gpt-4o-mini=1/4,gpt-4o=10/40`. Unset: only the default model, free.
    pub llm_models: service::models::Models,
    /// `AGENTDECK_AGENT_PRIVATE_NETWORK`: let agents fetch from loopback and
    /// private addresses (local development and tests only).
    pub private_network: bool,
}

impl Config {
    /// Whether browsers reach us over HTTPS.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

impl Config {
    /// Reads the process environment, after loading `.env` if present.
    pub fn from_env() -> Result<Self, ConfigError> {
        load_dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need no process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let addr = parse(&get, "AGENTDECK_ADDR", "127.0.0.1:3000", |v| {
            v.parse::<SocketAddr>()
                .map_err(|e| format!("{e} (expected host:port, e.g. 127.0.0.1:3000)"))
        })?;
        let db_pool_size = parse(&get, "AGENTDECK_DB_POOL_SIZE", "16", |v| {
            match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => Ok(n),
                _ => Err("expected an integer from 1 to 1000".to_owned()),
            }
        })?;
        let seed = parse(&get, "AGENTDECK_SEED", "true", |v| {
            match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err("expected true or false".to_owned()),
            }
        })?;
        let heartbeat_interval = parse(&get, "AGENTDECK_HEARTBEAT_MS", "5000", |v| {
            match v.parse::<u64>() {
                // The SPA treats 15 s of silence as a dead link.
                Ok(ms) if (10..=10_000).contains(&ms) => Ok(Duration::from_millis(ms)),
                _ => Err("expected milliseconds from 10 to 10000".to_owned()),
            }
        })?;
        let concurrency = parse(&get, "AGENTDECK_WORKERS", "16", |v| {
            match v.parse::<usize>() {
                Ok(n) if n <= 1000 => Ok(n),
                _ => Err("expected an integer from 0 to 1000".to_owned()),
            }
        })?;
        let lease = parse(&get, "AGENTDECK_JOB_LEASE_SECS", "30", |v| {
            match v.parse::<u64>() {
                Ok(secs) if (1..=3600).contains(&secs) => Ok(Duration::from_secs(secs)),
                _ => Err("expected seconds from 1 to 3600".to_owned()),
            }
        })?;
        let run_wait = parse(&get, "AGENTDECK_RUN_WAIT_MS", "10000", |v| {
            match v.parse::<u64>() {
                Ok(ms) if ms <= 600_000 => Ok(Duration::from_millis(ms)),
                _ => Err("expected milliseconds from 0 to 600000".to_owned()),
            }
        })?;
        let starter_credits = parse(&get, "AGENTDECK_STARTER_CREDITS", "100", |v| {
            match v.parse::<i64>() {
                Ok(credits) if (0..=1_000_000_000).contains(&credits) => Ok(credits),
                _ => Err("expected credits from 0 to 1000000000".to_owned()),
            }
        })?;
        let creator_share_percent =
            parse(&get, "AGENTDECK_CREATOR_SHARE_PERCENT", "80", |v| {
                match v.parse::<i64>() {
                    Ok(percent) if (0..=100).contains(&percent) => Ok(percent),
                    _ => Err("expected a percentage from 0 to 100".to_owned()),
                }
            })?;
        let secrets_key = match get("AGENTDECK_SECRETS_KEY") {
            None => None,
            Some(text) => Some(parse_key(&text).map_err(|message| ConfigError {
                name: "AGENTDECK_SECRETS_KEY",
                // Never the value itself: it is a secret.
                message: format!("invalid value: {message}"),
            })?),
        };
        let log_format = parse(&get, "AGENTDECK_LOG_FORMAT", "text", |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".to_owned()),
        })?;
        let public_url = parse(
            &get,
            "AGENTDECK_PUBLIC_URL",
            &format!("http://{addr}"),
            |v| {
                let v = v.trim_end_matches('/');
                let rest = v
                    .strip_prefix("https://")
                    .or_else(|| v.strip_prefix("http://"))
                    .ok_or_else(|| "must start with http:// or https://".to_owned())?;
                if rest.is_empty() || rest.contains('/') {
                    return Err(
                        "must be an origin only, e.g. https://agentdeck.example.com".to_owned()
                    );
                }
                Ok(v.to_owned())
            },
        )?;
        let idle_hours = parse(&get, "AGENTDECK_SESSION_IDLE_HOURS", "168", |v| {
            match v.parse::<u64>() {
                Ok(h) if (1..=24 * 90).contains(&h) => Ok(h),
                _ => Err("expected hours from 1 to 2160".to_owned()),
            }
        })?;
        let max_days = parse(&get, "AGENTDECK_SESSION_MAX_DAYS", "30", |v| {
            match v.parse::<u64>() {
                Ok(d) if (1..=365).contains(&d) => Ok(d),
                _ => Err("expected days from 1 to 365".to_owned()),
            }
        })?;
        let defaults = crate::rate_limit::LimitSettings::default();
        let login_per_account = parse(&get, "AGENTDECK_LOGIN_LIMIT", "5/900", |v| {
            let expected = || "expected <free failures>/<longest wait seconds>, e.g. 5/900";
            let (free, longest) = v.split_once('/').ok_or_else(expected)?;
            let free: u32 = free.trim().parse().map_err(|_| expected())?;
            let longest: u64 = longest.trim().parse().map_err(|_| expected())?;
            if !(1..=86_400).contains(&longest) {
                return Err("the longest wait must be from 1 to 86400 seconds".to_owned());
            }
            Ok(crate::rate_limit::Backoff {
                free,
                first: Duration::from_secs(1),
                longest: Duration::from_secs(longest),
            })
        })?;
        let api_per_ip = parse(&get, "AGENTDECK_API_LIMIT", "600/60", parse_budget)?;
        let device_per_ip = parse(&get, "AGENTDECK_DEVICE_LIMIT", "30/3600", parse_budget)?;
        let live_sockets = parse(&get, "AGENTDECK_LIVE_SOCKETS", "32/128", |v| {
            let expected = || "expected <per account>/<per address>, e.g. 32/128".to_owned();
            let (user, address) = v.split_once('/').ok_or_else(expected)?;
            let per_user: u32 = user.trim().parse().map_err(|_| expected())?;
            let per_address: u32 = address.trim().parse().map_err(|_| expected())?;
            if per_user == 0 || per_address == 0 {
                return Err("both must be at least 1".to_owned());
            }
            Ok(crate::live::hub::SocketCaps {
                per_user,
                per_address,
            })
        })?;
        let github = match get("AGENTDECK_GITHUB_CLIENT_ID") {
            None => None,
            Some(client_id) => {
                let client_secret = get("AGENTDECK_GITHUB_CLIENT_SECRET").ok_or(ConfigError {
                    name: "AGENTDECK_GITHUB_CLIENT_SECRET",
                    message: "must be set when AGENTDECK_GITHUB_CLIENT_ID is".to_owned(),
                })?;
                let url = |name: &'static str, default: &str| {
                    parse(&get, name, default, |v| {
                        if v.starts_with("https://") || v.starts_with("http://") {
                            Ok(v.trim_end_matches('/').to_owned())
                        } else {
                            Err("must be an http(s) URL".to_owned())
                        }
                    })
                };
                Some(service::auth::github::GithubConfig {
                    client_id,
                    client_secret,
                    authorize_url: url(
                        "AGENTDECK_GITHUB_AUTHORIZE_URL",
                        "https://github.com/login/oauth/authorize",
                    )?,
                    token_url: url(
                        "AGENTDECK_GITHUB_TOKEN_URL",
                        "https://github.com/login/oauth/access_token",
                    )?,
                    api_url: url("AGENTDECK_GITHUB_API_URL", "https://api.github.com")?,
                    redirect_url: format!("{public_url}/auth/github/callback"),
                })
            }
        };
        let providers = match get("AGENTDECK_PROVIDERS_DIR") {
            None => service::connections::catalogue::Catalogue::built_in(),
            Some(dir) => service::connections::catalogue::Catalogue::with_dir(dir.as_ref()),
        }
        .map_err(|error| ConfigError {
            name: "AGENTDECK_PROVIDERS_DIR",
            message: error.to_string(),
        })?;
        let mut connect_clients = std::collections::BTreeMap::new();
        for provider in providers.iter() {
            let prefix = format!(
                "AGENTDECK_CONNECT_{}",
                provider.id.to_ascii_uppercase().replace('-', "_")
            );
            let id = get(&format!("{prefix}_CLIENT_ID"));
            let secret = get(&format!("{prefix}_CLIENT_SECRET"));
            match (id, secret) {
                (Some(id), Some(secret)) => {
                    connect_clients.insert(
                        provider.id.clone(),
                        service::connections::OAuthClient { id, secret },
                    );
                }
                (None, None) => {}
                _ => {
                    return Err(ConfigError {
                        name: "AGENTDECK_CONNECT_<ID>_CLIENT_ID",
                        message: format!(
                            "{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET must be set together"
                        ),
                    });
                }
            }
        }
        let payments = match get("AGENTDECK_STRIPE_SECRET_KEY") {
            None => None,
            Some(secret_key) => Some(service::payments::PaymentsConfig {
                secret_key,
                webhook_secret: get("AGENTDECK_STRIPE_WEBHOOK_SECRET").ok_or(ConfigError {
                    name: "AGENTDECK_STRIPE_WEBHOOK_SECRET",
                    message: "must be set when AGENTDECK_STRIPE_SECRET_KEY is".to_owned(),
                })?,
                api_base: parse(
                    &get,
                    "AGENTDECK_STRIPE_API_URL",
                    "https://api.stripe.com",
                    |v| {
                        if v.starts_with("https://") || v.starts_with("http://") {
                            Ok(v.trim_end_matches('/').to_owned())
                        } else {
                            Err("must be an http(s) URL".to_owned())
                        }
                    },
                )?,
                cents_per_credit: parse(&get, "AGENTDECK_CREDIT_PRICE_CENTS", "1", |v| match v
                    .parse::<i64>()
                {
                    Ok(cents) if (1..=10_000).contains(&cents) => Ok(cents),
                    _ => Err("expected whole cents from 1 to 10000".to_owned()),
                })?,
                currency: parse(&get, "AGENTDECK_CURRENCY", "usd", |v| {
                    let v = v.to_ascii_lowercase();
                    if v.len() == 3 && v.chars().all(|c| c.is_ascii_lowercase()) {
                        Ok(v)
                    } else {
                        Err("expected a three-letter ISO 4217 code, e.g. usd".to_owned())
                    }
                })?,
            }),
        };
        let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        };
        let data_dir: PathBuf = get("AGENTDECK_DATA_DIR")
            .unwrap_or_else(|| ".agentdeck".into())
            .into();
        let mail = MailConfig {
            from: get("AGENTDECK_MAIL_FROM")
                .unwrap_or_else(|| "Agentdeck <noreply@localhost>".to_owned()),
            delivery: match get("AGENTDECK_SMTP_URL") {
                Some(url) => service::mail::Delivery::Smtp(url),
                None => service::mail::Delivery::Outbox(data_dir.join("outbox")),
            },
        };
        mail.check()?;
        // Mail in a local folder is for laptops: with an https address (a
        // real deployment) every reset link would sit where any platform
        // administrator reads it, so that needs saying out loud.
        let outbox_ok = parse(&get, "AGENTDECK_MAIL_OUTBOX", "false", boolean)?;
        if public_url.starts_with("https://")
            && matches!(mail.delivery, service::mail::Delivery::Outbox(_))
            && !outbox_ok
        {
            return Err(ConfigError {
                name: "AGENTDECK_SMTP_URL",
                message: "must be set when AGENTDECK_PUBLIC_URL is https (or set \
                          AGENTDECK_MAIL_OUTBOX=true to keep mail in <data dir>/outbox)"
                    .to_owned(),
            });
        }
        let llm_base_url = get("AGENTDECK_LLM_BASE_URL")
            .map(|_| {
                parse(&get, "AGENTDECK_LLM_BASE_URL", "", |v| {
                    if v.starts_with("https://") || v.starts_with("http://") {
                        Ok(v.trim_end_matches('/').to_owned())
                    } else {
                        Err("must be an http(s) URL".to_owned())
                    }
                })
            })
            .transpose()?;
        let trusted_proxies = parse(
            &get,
            "AGENTDECK_TRUSTED_PROXIES",
            "",
            crate::client_addr::TrustedProxies::parse,
        )?;
        let sandbox = SandboxConfig {
            cache_dir: get("AGENTDECK_CWASM_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("cwasm")),
            llm_base_url,
            llm_api_key: get("AGENTDECK_LLM_API_KEY"),
            llm_model: get("AGENTDECK_LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            llm_models: parse(
                &get,
                "AGENTDECK_LLM_MODELS",
                "",
                service::models::Models::parse,
            )?,
            private_network: parse(&get, "AGENTDECK_AGENT_PRIVATE_NETWORK", "false", boolean)?,
        };
        Ok(Self {
            addr,
            sandbox,
            github,
            providers,
            connect_clients,
            public_url,
            limits: crate::rate_limit::LimitSettings {
                login_per_account,
                api_per_ip,
                device_per_ip,
                ..defaults
            },
            trusted_proxies,
            live_sockets,
            sessions: service::auth::SessionPolicy {
                idle: Duration::from_secs(idle_hours * 3600),
                absolute: Duration::from_secs(max_days * 24 * 3600),
            },
            database_url: get("DATABASE_URL"),
            data_dir,
            mail,
            dist_dir: get("AGENTDECK_DIST_DIR")
                .unwrap_or_else(|| "dist".into())
                .into(),
            db_pool_size,
            seed,
            heartbeat_interval,
            log_format,
            pg_bin_dir: get("AGENTDECK_PG_BIN").map(PathBuf::from),
            pg_user: get("AGENTDECK_PG_USER").unwrap_or_else(|| "nobody".into()),
            run_wait,
            billing: service::ledger::Billing {
                starter_credits,
                creator_share_percent,
            },
            secrets_key,
            webhooks_private: parse(&get, "AGENTDECK_WEBHOOKS_PRIVATE", "false", boolean)?,
            payments,
            workers: crate::jobs::WorkerConfig {
                concurrency,
                lease,
                ..crate::jobs::WorkerConfig::default()
            },
        })
    }
}

/// 64 hex digits as 32 bytes.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let expected =
        || "expected 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`".to_owned();
    if text.len() != 64 || !text.is_ascii() {
        return Err(expected());
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).map_err(|_| expected())?;
    }
    Ok(key)
}

/// `<requests>/<seconds>`, e.g. `5/900`.
fn parse_budget(text: &str) -> Result<crate::rate_limit::Budget, String> {
    let expected = || "expected <requests>/<seconds>, e.g. 5/900".to_owned();
    let (requests, seconds) = text.split_once('/').ok_or_else(expected)?;
    let requests: u32 = requests.trim().parse().map_err(|_| expected())?;
    let seconds: u64 = seconds.trim().parse().map_err(|_| expected())?;
    if requests == 0 || seconds == 0 || seconds > 86_400 {
        return Err("requests and seconds must be positive, seconds at most 86400".to_owned());
    }
    Ok(crate::rate_limit::Budget {
        requests,
        window: Duration::from_secs(seconds),
    })
}

fn parse<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    convert: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    convert(value.trim()).map_err(|message| ConfigError {
        name,
        message: format!("invalid value {value:?}: {message}"),
    })
}

/// Loads `KEY=VALUE` lines from `./.env` into the environment, without
/// overriding variables that are already set.
#[expect(
    unsafe_code,
    reason = "set_var is unsafe in edition 2024; called before threads start"
)]
fn load_dotenv() {
    let Ok(text) = std::fs::read_to_string(".env") else {
        return;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().trim_start_matches("export ").trim();
            let value = value.trim().trim_matches('"');
            if std::env::var_os(key).is_none() {
                // SAFETY: runs at start-up, before any other thread exists.
                unsafe { std::env::set_var(key, value) };
            }
        }
    }
}

#[cfg(test)]
mod mail_tests {
    use super::*;

    /// Start-up reads the configuration before any runtime exists: an SMTP
    /// URL is checked, not connected (that would need a runtime).
    #[test]
    fn smtp_settings_are_checked_without_a_runtime() {
        let config = Config::from_lookup(|name| match name {
            "AGENTDECK_SMTP_URL" => Some("smtp://127.0.0.1:2525".to_owned()),
            "AGENTDECK_MAIL_FROM" => Some("Ops <ops@example.com>".to_owned()),
            _ => None,
        })
        .expect("a valid configuration");
        assert_eq!(
            config.mail.delivery,
            service::mail::Delivery::Smtp("smtp://127.0.0.1:2525".to_owned())
        );
        let error = Config::from_lookup(|name| {
            (name == "AGENTDECK_SMTP_URL").then(|| "ftp://nowhere".to_owned())
        })
        .expect_err("not an SMTP URL");
        assert_eq!(error.name, "AGENTDECK_SMTP_URL");
        let error = Config::from_lookup(|name| {
            (name == "AGENTDECK_MAIL_FROM").then(|| "not an address".to_owned())
        })
        .expect_err("not an address");
        assert_eq!(error.name, "AGENTDECK_MAIL_FROM");
        let error = Config::from_lookup(|name| {
            (name == "AGENTDECK_PUBLIC_URL").then(|| "https://agentdeck.example".to_owned())
        })
        .expect_err("https needs SMTP");
        assert_eq!(error.name, "AGENTDECK_SMTP_URL");
        Config::from_lookup(|name| match name {
            "AGENTDECK_PUBLIC_URL" => Some("https://agentdeck.example".to_owned()),
            "AGENTDECK_MAIL_OUTBOX" => Some("true".to_owned()),
            _ => None,
        })
        .expect("said out loud");
        let outbox = Config::from_lookup(|_| None).expect("defaults");
        assert_eq!(
            outbox.mail.delivery,
            service::mail::Delivery::Outbox(PathBuf::from(".agentdeck/outbox"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, None);
        assert_eq!(config.data_dir, PathBuf::from(".agentdeck"));
        assert!(config.seed);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let error = config(&[("AGENTDECK_ADDR", "localhost")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_ADDR");
        let error = config(&[("AGENTDECK_SECRETS_KEY", "not-hex-but-secret")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_SECRETS_KEY");
        assert!(!error.to_string().contains("not-hex-but-secret"), "{error}");
        let key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let parsed = config(&[("AGENTDECK_SECRETS_KEY", key)]).expect("a key");
        assert_eq!(
            parsed.secrets_key.map(|k| (k[0], k[31])),
            Some((0x00, 0xff))
        );

        let error = config(&[("AGENTDECK_DB_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_DB_POOL_SIZE");
        assert!(
            error
                .to_string()
                .starts_with("AGENTDECK_DB_POOL_SIZE: invalid value \"0\"")
        );
        let error = config(&[("AGENTDECK_SEED", "maybe")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_SEED");
        let error = config(&[("AGENTDECK_LLM_BASE_URL", "api.openai.com")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_LLM_BASE_URL");
        let error = config(&[("AGENTDECK_AGENT_PRIVATE_NETWORK", "sometimes")]).unwrap_err();
        assert_eq!(error.name, "AGENTDECK_AGENT_PRIVATE_NETWORK");
    }

    #[test]
    fn the_sandbox_caches_in_the_data_dir_and_runs_offline_by_default() {
        let config = config(&[("AGENTDECK_DATA_DIR", "/srv/agentdeck")]).unwrap();
        assert_eq!(
            config.sandbox.cache_dir,
            PathBuf::from("/srv/agentdeck/cwasm")
        );
        assert_eq!(config.sandbox.llm_base_url, None);
        assert!(!config.sandbox.private_network);
    }
}
