//! What the benchmarks share: a private PostgreSQL with the app's database
//! made, and percentiles of timings.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};

use server::embedded_pg::{self, EmbeddedPostgres, Options};

/// A private PostgreSQL in a temporary directory (removed when dropped).
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub postgres: EmbeddedPostgres,
    /// The app's database, made but not migrated.
    pub database_url: String,
    pub admin_url: String,
}

/// Starts a private PostgreSQL from the machine's binaries and makes the
/// app's database in it.
pub fn private_postgres(runtime: &tokio::runtime::Runtime) -> Bench {
    private_postgres_with(runtime, &[])
}

/// A private PostgreSQL with more `-c` settings.
pub fn private_postgres_with(runtime: &tokio::runtime::Runtime, settings: &[&str]) -> Bench {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("opening the directory to the database user");
    let mut options = Options::new(dir.path());
    options.settings = settings.iter().map(|s| (*s).to_owned()).collect();
    let postgres = EmbeddedPostgres::start(&options).expect("starting PostgreSQL");
    let database_url = postgres.database_url(embedded_pg::DATABASE);
    let admin_url = postgres.database_url("postgres");
    runtime.block_on(async {
        server::db::ensure_database(&admin_url, embedded_pg::DATABASE)
            .await
            .expect("creating the database");
    });
    Bench {
        dir,
        postgres,
        database_url,
        admin_url,
    }
}

/// The `p` percentile (0 to 1) of timings sorted ascending.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The token of the newest `page` link mailed to `to`, read from the local
/// `outbox` once the worker wrote it (up to a minute).
pub async fn mailed_token(outbox: &std::path::Path, to: &str, page: &str) -> String {
    let marker = format!("/{page}#token=");
    for _ in 0..600 {
        let mails = service::mail::outbox::read_dir(outbox).expect("the outbox");
        let found = mails.iter().filter(|mail| mail.to == to).find_map(|mail| {
            let start = mail.text.find(&marker)? + marker.len();
            Some(
                mail.text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>(),
            )
        });
        if let Some(token) = found {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {page} link was mailed to {to}");
}

/// The whole server on a local port (router, job worker, event listener,
/// run keeper) over `db`, its sandbox started.
pub struct Running {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub hub: server::live::hub::Hub,
    pub services: service::Services,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn serve(config: &server::config::Config, db: &Bench) -> Running {
    let state = server::prepare(config, &db.database_url)
        .await
        .expect("migrating and seeding");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("the address");
    let base = format!("http://{addr}");
    let hub = state.hub.clone();
    let _events =
        server::live::listen::spawn(db.database_url.clone(), state.services.clone(), hub.clone());
    let _worker = server::jobs::Worker::new(
        state.services.db.clone(),
        &db.database_url,
        server::jobs::Registry::server(&state.services),
        config.workers.clone(),
    )
    .spawn(hub.shutdown_signal());
    let _keeper = server::spawn_run_keeper(state.services.clone(), hub.shutdown_signal());
    let services = state.services.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    services
        .sandbox
        .as_ref()
        .expect("a sandbox")
        .runtime()
        .await
        .expect("the sandbox starts");
    Running {
        base,
        addr,
        hub,
        services,
        stop,
        serving,
    }
}

/// A request with `token`; its JSON answer, which must be a success.
pub async fn request(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
) -> Value {
    let request = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.expect("a request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// Signs `email` up, follows the verification link the worker wrote to
/// `outbox`, and makes it an API key (with a monthly spend cap).
pub async fn api_key(
    http: &reqwest::Client,
    base: &str,
    outbox: &std::path::Path,
    email: &str,
    cap: Option<i64>,
) -> String {
    let response = http
        .post(format!("{base}/api/v1/auth/signup"))
        .header("origin", base)
        .json(
            &json!({ "email": email, "password": "correct horse battery staple",
                       "name": "Bench" }),
        )
        .send()
        .await
        .expect("signing up");
    // The session's cookie (sign-up sets the device's too).
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with("agentdeck_session="))
        .expect("a session cookie")
        .to_owned();
    let me: Value = response.json().await.expect("json");
    let token = mailed_token(outbox, email, "verify-email").await;
    let verified = http
        .post(format!("{base}/api/v1/auth/verify-email"))
        .header("origin", base)
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("verifying");
    assert!(verified.status().is_success(), "{}", verified.status());
    let created: Value = http
        .post(format!("{base}/api/v1/api-keys"))
        .header("origin", base)
        .header("cookie", cookie)
        .header("x-csrf-token", me["csrf_token"].as_str().expect("csrf"))
        .json(&json!({ "name": "bench", "spend_cap_credits": cap,
                       "scopes": ["agents:read", "agents:write", "deployments:write", "runs:read", "runs:write"] }))
        .send()
        .await
        .expect("a key")
        .json()
        .await
        .expect("json");
    created["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no key for {email}: {created}"))
        .to_owned()
}
