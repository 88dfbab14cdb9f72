//! The Agentdeck server: configuration, database (provided or embedded),
//! REST API, server functions, live events and the static SPA, in one
//! binary.

pub mod agent_kv;
pub mod api;
pub mod auth;
pub mod card_image;
pub mod client_addr;
pub mod config;
pub mod db;
pub mod docs;
pub mod embedded_pg;
pub mod error;
pub mod headers;
pub mod jobs;
pub mod live;
pub mod mcp;
pub mod openapi;
pub mod origin;
pub mod rate_limit;
pub mod request_id;
pub mod router;
pub mod seed;
pub mod share;
pub mod spa;
pub mod state;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use service::Services;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::embedded_pg::{EmbeddedPostgres, Options};
use crate::live::hub::Hub;
use crate::state::AppState;

/// How long live sockets get to send "going away" before the process exits.
const SOCKET_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Raises this process's limit of open files (each WebSocket is one) to
/// `want`, or as far as the hard limit allows (and raises that, when the
/// process may); answers the limit now in force.
pub fn raise_open_files(want: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    let hard = if hard < want && setrlimit(Resource::RLIMIT_NOFILE, want, want).is_ok() {
        want
    } else {
        hard
    };
    let target = want.min(hard).max(soft);
    if setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        target
    } else {
        soft
    }
}

/// Runs the server until SIGINT or SIGTERM. Blocking: it owns the Tokio
/// runtime, and the embedded PostgreSQL (if any) is started and stopped on
/// this thread, whose exit would take the database down with it.
pub fn run(config: Config) -> anyhow::Result<()> {
    // The soft limit is often 1,024: a few hundred live clients.
    let files = raise_open_files(u64::MAX);
    tracing::debug!(files, "open-file limit");
    let mut embedded = None;
    let (database_url, admin_url) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let mut options = Options::new(&config.data_dir);
            options.bin_dir = config.pg_bin_dir.clone();
            options.run_as_user = config.pg_user.clone();
            let postgres = EmbeddedPostgres::start(&options)?;
            let urls = (
                postgres.database_url(embedded_pg::DATABASE),
                Some(postgres.database_url("postgres")),
            );
            embedded = Some(postgres);
            urls
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    let result = runtime.block_on(async {
        if let Some(admin_url) = &admin_url {
            db::ensure_database(admin_url, embedded_pg::DATABASE).await?;
        }
        let state = prepare(&config, &database_url).await?;
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {} (AGENTDECK_ADDR)", config.addr))?;
        tracing::info!("Agentdeck is running at http://{}", listener.local_addr()?);
        let heartbeat = state.hub.spawn_heartbeat(config.heartbeat_interval);
        let events = live::listen::spawn(
            database_url.clone(),
            state.services.clone(),
            state.hub.clone(),
        );
        let upkeep = tokio::spawn(upkeep(state.clone()));
        let run_keeper = spawn_run_keeper(state.services.clone(), state.hub.shutdown_signal());
        let worker = (config.workers.concurrency > 0).then(|| {
            jobs::Worker::new(
                state.services.db.clone(),
                &database_url,
                jobs::Registry::server(&state.services),
                config.workers.clone(),
            )
            .spawn(state.hub.shutdown_signal())
        });
        let scheduler = (config.workers.concurrency > 0)
            .then(|| jobs::scheduler::spawn(state.services.clone(), state.hub.shutdown_signal()));
        let hub = state.hub.clone();
        serve(listener, state, shutdown_signal()).await?;
        hub.shutdown();
        let _ = heartbeat.await;
        let _ = events.await;
        let _ = upkeep.await;
        let _ = run_keeper.await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        hub.wait_idle(SOCKET_CLOSE_GRACE).await;
        anyhow::Ok(())
    });
    drop(runtime);
    if let Some(mut postgres) = embedded {
        postgres.stop()?;
        tracing::info!("embedded PostgreSQL stopped");
    }
    result
}

/// `server worker`: only the background work (deploys, asynchronous runs),
/// no HTTP, so runs scale apart from the web tier. It needs the web tier's
/// database (`DATABASE_URL`); it stops on SIGINT or SIGTERM, handing back
/// what it has not finished.
pub fn run_worker(config: Config) -> anyhow::Result<()> {
    let Some(database_url) = config.database_url.clone() else {
        anyhow::bail!(
            "`server worker` needs DATABASE_URL: the database the web servers use \
             (a worker has no database of its own)"
        );
    };
    if config.workers.concurrency == 0 {
        anyhow::bail!("`server worker` with AGENTDECK_WORKERS=0 would do nothing");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    runtime.block_on(async {
        let state = prepare(&config, &database_url).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = jobs::Worker::new(
            state.services.db.clone(),
            &database_url,
            jobs::Registry::server(&state.services),
            config.workers.clone(),
        )
        .spawn(stopped.clone());
        let scheduler = jobs::scheduler::spawn(state.services.clone(), stopped.clone());
        let run_keeper = spawn_run_keeper(state.services.clone(), stopped);
        tracing::info!("Agentdeck worker is running");
        shutdown_signal().await;
        tracing::info!("stopping: finishing running jobs");
        stop.send_replace(true);
        let _ = worker.await;
        let _ = scheduler.await;
        let _ = run_keeper.await;
        anyhow::Ok(())
    })
}

/// Migrates (and seeds, if configured) the database and builds the state.
pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<AppState> {
    let applied = db::migrate(database_url).await?;
    tracing::info!(applied, "database migrations are up to date");
    let pool = db::pool(database_url, config.db_pool_size)?;
    if config.seed {
        let added = seed::run(&pool).await?;
        tracing::info!(added, "marketplace seed checked");
    }
    let sandbox = Arc::new(sandbox(&config.sandbox));
    // Load (or compile, the first time) the JavaScript runner now, off the
    // request path; the first test run waits for it if it is not done.
    tokio::spawn({
        let sandbox = Arc::clone(&sandbox);
        async move {
            if let Err(error) = sandbox.runtime().await {
                tracing::error!(%error, "the agent sandbox did not start");
            }
        }
    });
    let mut runner = service::runs::Runner::new(Some(agent_kv::factory(pool.clone())));
    runner.sync_wait = config.run_wait;
    runner.lease = config.workers.lease;
    let secrets_key = match config.secrets_key {
        Some(key) => key,
        None => local_secrets_key(&config.data_dir)?,
    };
    Ok(AppState {
        services: Services::new(pool)
            .with_sandbox(sandbox)
            .with_runner(runner)
            .with_secrets(&secrets_key)
            .with_session_policy(config.sessions)
            .with_public_url(config.public_url.clone())
            .with_github(config.github.clone())
            .with_connections(service::connections::ConnectionSettings::new(
                config.providers.clone(),
                config.connect_clients.clone(),
            ))
            .with_billing(config.billing)
            .with_payments(config.payments.clone())
            .with_webhooks(service::webhooks::WebhookSettings::new(
                config.webhooks_private,
            ))
            .with_mailer(config.mail.mailer()?),
        hub: Hub::new(config.live_sockets),
        dist_dir: Arc::new(config.dist_dir.clone()),
        cookies: auth::CookieSettings::new(config.is_https()),
        limits: rate_limit::Limits::new(config.limits),
        proxies: config.trusted_proxies.clone(),
        mcp: mcp::sessions::Sessions::default(),
    })
}

/// The key in `<data dir>/secrets.key`, made (readable by this account
/// only) on first use, for a server without `AGENTDECK_SECRETS_KEY`.
fn local_secrets_key(data_dir: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = data_dir.join("secrets.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => config::parse_key(&text)
            .map_err(|message| anyhow::anyhow!("{}: {message}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(file, "{hex}").with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = %path.display(), "made a key for deployment secrets");
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// The sandbox as configured: cache directory, model, network reach.
pub fn sandbox(config: &config::SandboxConfig) -> service::sandbox::Sandbox {
    use runtime::http::Fetcher;
    use runtime::llm::{LlmProvider, Offline, OpenAiCompatible};
    let llm: Arc<dyn LlmProvider> = match &config.llm_base_url {
        Some(base_url) => Arc::new(OpenAiCompatible::new(
            base_url.clone(),
            config.llm_api_key.clone(),
            config.llm_model.clone(),
        )),
        None => Arc::new(Offline),
    };
    let timeout = std::time::Duration::from_secs(30);
    let fetcher = if config.private_network {
        Fetcher::allowing_private_networks(timeout)
    } else {
        Fetcher::new(timeout)
    };
    service::sandbox::Sandbox::new(Some(config.cache_dir.clone()), llm, fetcher)
        .with_models(config.llm_models.clone())
}

/// Housekeeping until shutdown: idle rate-limit buckets and the runs'
/// usage roll-up every minute; dead sessions, expired sign-in flows and
/// old live events every hour.
async fn upkeep(state: AppState) {
    enum Chore {
        Limits,
        Purge,
        Stop,
    }
    let mut stopping = state.hub.shutdown_signal();
    let mut minutes = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut hours = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        let chore = tokio::select! {
            _ = minutes.tick() => Chore::Limits,
            _ = hours.tick() => Chore::Purge,
            _ = stopping.wait_for(|stop| *stop) => Chore::Stop,
        };
        match chore {
            Chore::Limits => {
                state.limits.forget_idle();
                match service::agents::roll_up_usage(&state.services).await {
                    Ok(counted) if counted.runs == 0 => {}
                    Ok(counted) => tracing::debug!(
                        runs = counted.runs,
                        agents = counted.agents,
                        "rolled up the runs that ended"
                    ),
                    Err(error) => tracing::warn!(%error, "rolling up usage failed"),
                }
            }
            Chore::Purge => {
                match service::embeds::purge(&state.services).await {
                    Ok((0, 0)) => {}
                    Ok((conversations, windows)) => {
                        tracing::info!(conversations, windows, "purged quiet embed conversations");
                    }
                    Err(error) => tracing::warn!(%error, "purging embed conversations failed"),
                }
                match service::auth::sessions::purge(&state.services).await {
                    Ok((0, 0)) => {}
                    Ok((sessions, flows)) => {
                        tracing::info!(sessions, flows, "purged dead sessions and sign-in flows");
                    }
                    Err(error) => tracing::warn!(%error, "purging dead sessions failed"),
                }
                match service::auth::recovery::purge(&state.services).await {
                    Ok(0) => {}
                    Ok(tokens) => tracing::info!(tokens, "purged expired account links"),
                    Err(error) => tracing::warn!(%error, "purging expired account links failed"),
                }
                match service::auth::oauth::purge(&state.services).await {
                    Ok((0, 0)) => {}
                    Ok((rows, clients)) => {
                        tracing::info!(
                            rows,
                            clients,
                            "purged old OAuth requests, tokens and clients"
                        );
                    }
                    Err(error) => tracing::warn!(%error, "purging OAuth leftovers failed"),
                }
                match service::llm::sweep(&state.services).await {
                    Ok(0) => {}
                    Ok(holds) => tracing::warn!(
                        holds,
                        "gave back credits held for work that ended unsettled"
                    ),
                    Err(error) => tracing::warn!(%error, "giving back unsettled holds failed"),
                }
                match service::connections::flows::purge(&state.services).await {
                    Ok(0) => {}
                    Ok(flows) => tracing::info!(flows, "purged expired connection sign-ins"),
                    Err(error) => tracing::warn!(%error, "purging connection sign-ins failed"),
                }
                match service::events::purge(&state.services).await {
                    Ok(0) => {}
                    Ok(events) => tracing::info!(events, "purged old live events"),
                    Err(error) => tracing::warn!(%error, "purging old live events failed"),
                }
            }
            Chore::Stop => return,
        }
    }
}

/// Keeps this process's runs leased (and cancels those asked to stop), and
/// ends runs whose server died, every few seconds until `stop`.
pub fn spawn_run_keeper(
    services: Services,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = services
            .runner
            .as_ref()
            .map_or(std::time::Duration::from_secs(5), |runner| runner.lease / 3);
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            if let Err(error) = service::runs::keep(&services).await {
                tracing::warn!(%error, "keeping run leases failed");
            }
        }
    })
}

/// Serves until `shutdown` completes, then closes live sockets and waits
/// for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let hub = state.hub.clone();
    let mcp = state.mcp.clone();
    let mcp_watch = mcp::sessions::watch(state.mcp.clone(), state.services.clone(), hub.clone());
    let app = router::build(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Small writes (live events, short answers) go out at once: with Nagle's
    // algorithm a WebSocket frame waited about 40 ms for the client's
    // delayed acknowledgement (a deploy's events arrived 42 ms after they
    // were committed).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing live connections, finishing requests");
            hub.shutdown();
            // Ends the MCP sessions' open streams, which never end alone.
            mcp.stop();
        })
        .await
        .context("serving HTTP")?;
    mcp_watch.abort();
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
