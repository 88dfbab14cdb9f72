//! The tests' PostgreSQL: the server named by `AGENTDECK_TEST_DATABASE_URL`
//! (a maintenance-database URL on a server where databases may be created),
//! or else a private throwaway cluster per test process. A template database
//! is migrated and seeded once; every test gets its own clone of it, so tests
//! run in parallel without sharing rows.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use server::db;
use server::embedded_pg::{Durability, EmbeddedPostgres, Options};
use tokio::sync::OnceCell;

const TEMPLATE: &str = "agentdeck_test_template";
/// Serialises template set-up between test processes sharing one server.
const TEMPLATE_LOCK: i64 = 0x6167_6465_636b;

/// A PostgreSQL server the tests may create databases on.
struct Server {
    /// URL of a database on the server, used to derive the others.
    admin_url: String,
}

impl Server {
    fn url(&self, database: &str) -> String {
        with_database(&self.admin_url, database)
    }
}

static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();

async fn server() -> &'static Server {
    let server = SERVER
        .get_or_init(|| async {
            let admin_url = match std::env::var("AGENTDECK_TEST_DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => url,
                _ => tokio::task::spawn_blocking(start_private_cluster)
                    .await
                    .map_err(|e| format!("the PostgreSQL start-up thread panicked: {e}"))??,
            };
            let server = Server { admin_url };
            prepare_template(&server).await?;
            Ok(server)
        })
        .await;
    match server {
        Ok(server) => server,
        Err(error) => panic!("no PostgreSQL for the tests: {error}"),
    }
}

/// Starts a cluster in a fresh directory under the system temp dir. It runs
/// until this process exits (PostgreSQL follows its parent thread, which
/// never returns); directories left by earlier processes are removed here.
fn start_private_cluster() -> Result<String, String> {
    let base = std::env::temp_dir().join("agentdeck-test-pg");
    fs::create_dir_all(&base).map_err(|e| format!("creating {}: {e}", base.display()))?;
    // Under root PostgreSQL runs unprivileged and must be able to enter.
    set_mode(&base, 0o1777)?;
    sweep_stale_clusters(&base);
    let dir = base.join(format!(
        "{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    set_mode(&dir, 0o755)?;

    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || {
            let mut options = Options::new(&dir);
            options.durability = Durability::Throwaway;
            match EmbeddedPostgres::start(&options) {
                Ok(postgres) => {
                    let _ = sender.send(Ok(postgres.database_url("postgres")));
                    let _keep_running = postgres;
                    loop {
                        std::thread::park();
                    }
                }
                Err(error) => {
                    let _ = sender.send(Err(error.to_string()));
                }
            }
        })
        .map_err(|e| format!("spawning the PostgreSQL thread: {e}"))?;
    receiver
        .recv()
        .map_err(|_| "the PostgreSQL thread ended without an answer".to_owned())?
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("setting the mode of {}: {e}", path.display()))
}

/// Removes clusters whose test process is gone and whose PostgreSQL stopped.
fn sweep_stale_clusters(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let owner = entry
            .file_name()
            .to_str()
            .and_then(|name| name.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(owner) = owner else { continue };
        if is_alive(owner) || postgres_running(&dir.join("postgres")) {
            continue;
        }
        let _ = fs::remove_dir_all(&dir);
    }
}

fn is_alive(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

fn postgres_running(cluster: &Path) -> bool {
    fs::read_to_string(cluster.join("postmaster.pid"))
        .ok()
        .and_then(|text| {
            text.lines()
                .next()
                .and_then(|pid| pid.trim().parse::<u32>().ok())
        })
        .is_some_and(is_alive)
}

/// Creates (once per server), migrates and seeds the template database.
async fn prepare_template(server: &Server) -> Result<(), String> {
    let mut admin = connect(&server.admin_url).await?;
    execute(
        &mut admin,
        &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"),
    )
    .await?;
    let prepared = async {
        db::ensure_database(&server.admin_url, TEMPLATE)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let url = server.url(TEMPLATE);
        db::migrate(&url).await.map_err(|e| format!("{e:#}"))?;
        let pool = db::pool(&url, 1).map_err(|e| format!("{e:#}"))?;
        server::seed::run(&pool)
            .await
            .map_err(|e| format!("{e:#}"))?;
        Ok::<_, String>(())
    }
    .await;
    execute(
        &mut admin,
        &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"),
    )
    .await?;
    prepared
}

async fn connect(url: &str) -> Result<AsyncPgConnection, String> {
    AsyncPgConnection::establish(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))
}

async fn execute(conn: &mut AsyncPgConnection, sql: &str) -> Result<(), String> {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .map(drop)
        .map_err(|e| format!("{sql}: {e}"))
}

/// Replaces the database name in a `postgresql://` URL, keeping the query.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |at| at + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    }
}

/// A database of its own for one test, cloned from the template and dropped
/// with this value.
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let server = server().await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect(&server.admin_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        execute(
            &mut admin,
            &format!(
                "CREATE DATABASE {} TEMPLATE {TEMPLATE}",
                db::quote_ident(&name)
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("cloning the template: {e}"));
        Self {
            url: server.url(&name),
            admin_url: server.admin_url.clone(),
            name,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now, ending its sessions: the database is gone
    /// from under whoever uses it.
    pub async fn drop_now(&self) {
        let mut admin = connect(&self.admin_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        execute(&mut admin, &drop_sql(&self.name))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn drop_sql(name: &str) -> String {
    format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db::quote_ident(name)
    )
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async code; use a short-lived runtime on a thread
        // of its own so it also works inside a test's runtime.
        let admin_url = self.admin_url.clone();
        let sql = drop_sql(&self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = connect(&admin_url).await.map_err(std::io::Error::other)?;
                execute(&mut admin, &sql)
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

#[test]
fn replaces_the_database_in_urls() {
    assert_eq!(
        with_database("postgresql://agentdeck@%2Ftmp%2Fx:5432/postgres", "t_1"),
        "postgresql://agentdeck@%2Ftmp%2Fx:5432/t_1"
    );
    assert_eq!(
        with_database("postgres://u:p@localhost/db?sslmode=disable", "t_2"),
        "postgres://u:p@localhost/t_2?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://localhost", "t_3"),
        "postgres://localhost/t_3"
    );
}
