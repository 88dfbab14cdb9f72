//! `TestApp`: the real router on a real TCP port, over a test database of
//! its own, with helpers for HTTP and WebSocket clients.

pub mod browser;
pub mod db;
pub mod github;
pub mod mail;
pub mod oauth_provider;
pub mod server_fn;
pub mod stripe;
pub mod ws;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use server::live::hub::Hub;
use server::state::AppState;
use service::Services;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use db::TestDb;
use service::auth::github::GithubConfig;

/// File names as scripts/build-web.mjs writes them, so the caching rules apply.
pub const HASHED_JS: &str = "frontend-0123456789abcdef.js";
pub const HASHED_WASM: &str = "frontend-0123456789abcdef_bg.wasm";
pub const INDEX_MARKER: &str = "<title>Agentdeck test build</title>";
/// The page's inline start script, as the build writes one.
pub const START_SCRIPT: &str = "import init from \"/frontend.js\";await init();";
/// Stands in for the `.br` copy the build writes beside the JS (no `.gz`).
pub const PRECOMPRESSED_BR: &[u8] = b"brotli bytes written at build time";

pub struct TestAppBuilder {
    workers: bool,
    heartbeat: Duration,
    with_dist: bool,
    limits: server::rate_limit::LimitSettings,
    proxies: server::client_addr::TrustedProxies,
    sandbox: Option<Arc<service::sandbox::Sandbox>>,
    github: Option<String>,
    payments: Option<String>,
    mail: Option<service::mail::Delivery>,
    clock: Option<service::clock::Clock>,
    public_webhooks_only: bool,
    connections: Option<service::connections::ConnectionSettings>,
}

impl TestAppBuilder {
    /// Send mail (with the workers) through SMTP or into an outbox;
    /// without it, mail stays queued where `support::mail` reads it.
    pub fn mail(mut self, delivery: service::mail::Delivery) -> Self {
        self.mail = Some(delivery);
        self
    }

    /// The services' clock (schedules, retries, the queue's `run_at`):
    /// a manual one lets a test move time.
    pub fn clock(mut self, clock: service::clock::Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Outgoing webhooks to public addresses only, as in production (by
    /// default tests may send them to local receivers).
    pub fn public_webhooks_only(mut self) -> Self {
        self.public_webhooks_only = true;
        self
    }

    /// Period of the `system` heartbeat.
    pub fn heartbeat(mut self, period: Duration) -> Self {
        self.heartbeat = period;
        self
    }

    pub fn limits(mut self, limits: server::rate_limit::LimitSettings) -> Self {
        self.limits = limits;
        self
    }

    /// Sign-in with GitHub against the stand-in at `base_url`.
    /// A sandbox of its own whose model is the chat-completions endpoint at
    /// `base_url` (a stand-in), offering `models` (`AGENTDECK_LLM_MODELS`).
    pub fn llm(mut self, base_url: &str, models: &str) -> Self {
        let provider = runtime::llm::OpenAiCompatible::new(
            base_url.to_owned(),
            Some("sk-operator".to_owned()),
            "house-model".to_owned(),
        );
        self.sandbox = Some(Arc::new(
            service::sandbox::Sandbox::new(
                Some(runtime::build_cache_dir()),
                Arc::new(provider),
                runtime::http::Fetcher::allowing_private_networks(Duration::from_secs(10)),
            )
            .with_models(service::models::Models::parse(models).expect("models")),
        ));
        self
    }

    /// `AGENTDECK_TRUSTED_PROXIES`, as the text the variable holds.
    pub fn trusted_proxies(mut self, cidrs: &str) -> Self {
        self.proxies = server::client_addr::TrustedProxies::parse(cidrs).expect("CIDRs");
        self
    }

    pub fn github(mut self, base_url: &str) -> Self {
        self.github = Some(base_url.to_owned());
        self
    }

    /// Take payments through the stand-in provider at `base_url`.
    pub fn payments(mut self, base_url: &str) -> Self {
        self.payments = Some(base_url.to_owned());
        self
    }

    /// The provider catalogue and apps (a stand-in's, usually).
    pub fn connections(mut self, settings: service::connections::ConnectionSettings) -> Self {
        self.connections = Some(settings);
        self
    }

    /// Run the server's job worker (deployments) beside it.
    pub fn workers(mut self) -> Self {
        self.workers = true;
        self
    }

    /// Serve from a `dist/` that has not been built.
    pub fn without_dist(mut self) -> Self {
        self.with_dist = false;
        self
    }

    pub async fn spawn(self) -> TestApp {
        let db = TestDb::new().await;
        let dist = TempDir::new().expect("creating the dist directory");
        if self.with_dist {
            write_dist(dist.path());
        }
        let pool = server::db::pool(db.url(), 4).expect("building the pool");
        let hub = Hub::default();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a port");
        let addr = listener.local_addr().expect("reading the bound address");
        let base_url = format!("http://{addr}");
        let github = self.github.map(|github| GithubConfig {
            client_id: github::CLIENT_ID.to_owned(),
            client_secret: github::CLIENT_SECRET.to_owned(),
            authorize_url: format!("{github}/login/oauth/authorize"),
            token_url: format!("{github}/login/oauth/access_token"),
            api_url: github.clone(),
            redirect_url: format!("{base_url}/auth/github/callback"),
        });
        let mut services = Services::new(pool.clone());
        if let Some(settings) = self.connections {
            services = services.with_connections(settings);
        }
        if let Some(delivery) = self.mail {
            services = services.with_mailer(
                service::mail::Mailer::new("Agentdeck <noreply@agentdeck.test>", delivery)
                    .expect("a mailer"),
            );
        }
        let state = AppState {
            services: services
                .with_public_url(base_url.clone())
                .with_github(github)
                .with_payments(
                    self.payments
                        .map(|api_base| service::payments::PaymentsConfig {
                            api_base,
                            secret_key: stripe::SECRET_KEY.to_owned(),
                            webhook_secret: stripe::WEBHOOK_SECRET.to_owned(),
                            cents_per_credit: 1,
                            currency: "usd".to_owned(),
                        }),
                )
                .with_sandbox(self.sandbox.clone().unwrap_or_else(shared_sandbox))
                .with_secrets(&[42; 32])
                .with_clock(self.clock.clone().unwrap_or_default())
                .with_webhooks(service::webhooks::WebhookSettings::new(
                    !self.public_webhooks_only,
                ))
                .with_runner(service::runs::Runner::new(Some(server::agent_kv::factory(
                    pool.clone(),
                )))),
            hub: hub.clone(),
            dist_dir: Arc::new(dist.path().to_owned()),
            cookies: server::auth::CookieSettings::new(false),
            limits: server::rate_limit::Limits::new(self.limits),
            proxies: self.proxies.clone(),
            mcp: server::mcp::sessions::Sessions::default(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let heartbeat = hub.spawn_heartbeat(self.heartbeat);
        let events =
            server::live::listen::spawn(db.url().to_owned(), state.services.clone(), hub.clone());
        let run_keeper = server::spawn_run_keeper(state.services.clone(), hub.shutdown_signal());
        let services = state.services.clone();
        let worker = self.workers.then(|| {
            server::jobs::Worker::new(
                state.services.db.clone(),
                db.url(),
                server::jobs::Registry::server(&state.services),
                server::jobs::WorkerConfig {
                    clock: state.services.clock.clone(),
                    ..server::jobs::WorkerConfig::default()
                },
            )
            .spawn(hub.shutdown_signal())
        });
        let scheduler = self
            .workers
            .then(|| server::jobs::scheduler::spawn(state.services.clone(), hub.shutdown_signal()));
        let server = tokio::spawn(async move {
            let result = server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await;
            heartbeat.abort();
            events.abort();
            run_keeper.abort();
            if let Some(worker) = worker {
                worker.abort();
            }
            if let Some(scheduler) = scheduler {
                scheduler.abort();
            }
            result
        });
        TestApp {
            base_url,
            db,
            services,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
            _dist: dist,
        }
    }
}

/// One sandbox for every test in the process: the JavaScript runner is
/// compiled once (into the build's cache directory) and its pool reused.
/// The offline model answers `llm`, and agents may reach local stand-ins.
pub fn shared_sandbox() -> Arc<service::sandbox::Sandbox> {
    static SANDBOX: std::sync::OnceLock<Arc<service::sandbox::Sandbox>> =
        std::sync::OnceLock::new();
    Arc::clone(SANDBOX.get_or_init(|| {
        Arc::new(service::sandbox::Sandbox::new(
            Some(runtime::build_cache_dir()),
            Arc::new(runtime::llm::Offline),
            runtime::http::Fetcher::allowing_private_networks(Duration::from_secs(10)),
        ))
    }))
}

pub struct TestApp {
    pub base_url: String,
    pub db: TestDb,
    /// The server's service layer, for the chores its loops run (sweeps).
    pub services: service::Services,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _dist: TempDir,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            workers: false,
            clock: None,
            public_webhooks_only: false,
            heartbeat: Duration::from_secs(5),
            with_dist: true,
            limits: server::rate_limit::LimitSettings::default(),
            proxies: server::client_addr::TrustedProxies::default(),
            sandbox: None,
            github: None,
            payments: None,
            mail: None,
            connections: None,
        }
    }

    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// A direct connection to this test's database.
    pub async fn sql(&self) -> diesel_async::AsyncPgConnection {
        use diesel_async::AsyncConnection as _;
        diesel_async::AsyncPgConnection::establish(self.db.url())
            .await
            .expect("connecting to the test database")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base_url.replacen("http://", "ws://", 1))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("sending a GET")
    }

    /// GETs `path` and parses the body as JSON, checking the content type.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.get(path).await).await
    }

    /// Calls a read-only server function the way the SPA does: GET with the
    /// arguments in the query string (`query[limit]=2`).
    pub async fn call_server_fn(&self, name: &str, args: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(&format!("{}/{name}?{args}", app::api::SERVER_FN_PREFIX)))
            .send()
            .await
            .expect("calling a server function");
        json_of(response).await
    }

    /// Stops the server as SIGTERM would and waits for it to finish.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task panicked")
                .expect("the server failed");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("reading the body");
    assert!(
        content_type.starts_with("application/json"),
        "expected JSON, got {content_type:?} with status {status}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    (status, body)
}

/// Asserts `body` is the error envelope with `code`, and returns its fields.
pub fn error_of<'a>(body: &'a Value, code: &str) -> &'a Value {
    let error = &body["error"];
    assert_eq!(error["code"], code, "unexpected error body: {body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "the error has no message: {body}"
    );
    assert!(
        error["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 32),
        "the error has no request id: {body}"
    );
    error
}

fn write_dist(dir: &Path) {
    let files: [(&str, Vec<u8>); 7] = [
        (
            "index.html",
            format!(
                "<!doctype html><html><head><script type=\"module\">{START_SCRIPT}</script>\
                 {INDEX_MARKER}</head><body></body></html>"
            )
            .into_bytes(),
        ),
        // Big enough to be worth compressing.
        (
            HASHED_JS,
            "export function start() { return 42; }\n"
                .repeat(200)
                .into_bytes(),
        ),
        (&format!("{HASHED_JS}.br"), PRECOMPRESSED_BR.to_vec()),
        (HASHED_WASM, b"\0asm\x01\0\0\0".to_vec()),
        (
            "favicon.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        // The API reference page (scripts/build-web.mjs writes the real one).
        (
            "api-reference.html",
            b"<!doctype html><title>Agentdeck API reference</title>".to_vec(),
        ),
        // An embed's frame page (scripts/build-embed.mjs writes the real one).
        (
            "embed.html",
            b"<!doctype html><title>Agentdeck embed</title>".to_vec(),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("writing the dist fixture");
    }
}

/// Creates an agent named `name` as `browser`, lets `edit` change its draft
/// (`source`, `manifest`, `readme`, …), saves it and publishes 1.0.0;
/// answers its slug.
pub async fn publish_agent(
    browser: &mut browser::Browser,
    name: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    use serde_json::json;
    let (status, created) = browser
        .post("/api/v1/agents", json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    let path = format!("/api/v1/agents/{slug}/draft");
    let (_, draft) = browser.get(&path).await;
    let mut body = json!({
        "revision": draft["revision"],
        "listing": draft["listing"],
        "readme": draft["readme"],
        "source": draft["source"],
        "manifest": draft["manifest"],
        "example_input": draft["example_input"],
    });
    edit(&mut body);
    let (status, saved) = browser.put(&path, body).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, version) = browser
        .post(
            &format!("/api/v1/agents/{slug}/versions"),
            json!({ "version": "1.0.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    slug
}

/// Gives `workspace` credits, as an administrator's grant would.
pub async fn grant_credits(
    conn: &mut diesel_async::AsyncPgConnection,
    workspace: uuid::Uuid,
    credits: i64,
) {
    use diesel_async::RunQueryDsl as _;
    diesel::sql_query(
        "WITH wallet AS (INSERT INTO ledger_accounts (kind, workspace_id) VALUES ('wallet', $1) \
                         ON CONFLICT DO NOTHING RETURNING id), \
              t AS (INSERT INTO ledger_transactions (idempotency_key, kind, workspace_id, memo) \
                    VALUES ('test-grant:' || gen_random_uuid(), 'grant', $1, 'test') RETURNING id) \
         INSERT INTO ledger_entries (transaction_id, account_id, amount) \
         SELECT t.id, legs.account, legs.amount FROM t, (VALUES \
             ((SELECT id FROM wallet UNION ALL \
               SELECT id FROM ledger_accounts WHERE kind = 'wallet' AND workspace_id = $1 LIMIT 1), $2), \
             ((SELECT id FROM ledger_accounts WHERE kind = 'grants'), -$2)) AS legs (account, amount)",
    )
    .bind::<diesel::sql_types::Uuid, _>(workspace)
    .bind::<diesel::sql_types::BigInt, _>(credits)
    .execute(conn)
    .await
    .expect("granting credits");
}

/// Creates a deployment of `body` and waits until it is `running`; its id
/// and the deployment as created.
pub async fn deploy_running(
    browser: &mut browser::Browser,
    body: serde_json::Value,
) -> (String, serde_json::Value) {
    use reqwest::StatusCode;
    let (status, created) = browser.post("/api/v1/deployments", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    for _ in 0..600 {
        let (_, shown) = browser.get(&format!("/api/v1/deployments/{id}")).await;
        match shown["status"].as_str() {
            Some("running") => return (id, created),
            Some("failed") => panic!("the deployment failed: {shown}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("the deployment did not come up");
}

/// Serves a stand-in for an outside service (GitHub, the payment provider)
/// on a free local port; its base URL.
pub async fn serve_stand_in(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base_url
}
