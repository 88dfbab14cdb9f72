//! The connection pool, migrations (embedded in the binary, run at start) and
//! the readiness probe.

use std::time::Duration;

use anyhow::Context as _;
use diesel::sql_types::Bool;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::FutureExt as _;
use service::DbPool;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// How long a request waits for a pooled connection before answering 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn pool(database_url: &str, size: usize) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|url| connect(url).boxed());
    // A connection handed out again is not asked `SELECT 1` first (one
    // round trip per checkout, four per run): one the server closed fails
    // its next query, which marks it broken, and the pool drops it.
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// A pooled connection: requests are short, so no query of theirs waits for
/// parallel workers. Starting two took 8 ms here, while the work they
/// shared took under 1 ms (a search matching 500 names ran in 14 ms with
/// them and 5 ms without).
async fn connect(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query("SET max_parallel_workers_per_gather = 0")
        .execute(&mut conn)
        .await
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Serialises migrations between servers starting on one database.
const MIGRATION_LOCK: i64 = 0x0061_6764_6563_6b01;

/// Applies pending migrations; returns how many ran.
pub async fn migrate(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                .context("connecting to run migrations")?;
        // Session-level: released below, or when the connection closes.
        let lock = diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"));
        diesel::RunQueryDsl::execute(lock, &mut conn).context("waiting for the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
        diesel::RunQueryDsl::execute(unlock, &mut conn).context("releasing the migration lock")?;
        Ok(applied)
    })
    .await
    .context("the migration task panicked")?
}

/// Creates `database` through a connection to `admin_url` if it is missing.
pub async fn ensure_database(admin_url: &str, database: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .context("connecting to the maintenance database")?;
    let exists: bool = diesel::select(
        diesel::dsl::sql::<Bool>("EXISTS (SELECT 1 FROM pg_database WHERE datname = ")
            .bind::<diesel::sql_types::Text, _>(database)
            .sql(")"),
    )
    .get_result(&mut conn)
    .await
    .context("looking up the database")?;
    if !exists {
        diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(database)))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {database}"))?;
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether the database answers a trivial query in time.
pub async fn is_ready(pool: &DbPool) -> Result<(), String> {
    let check = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        diesel::select(diesel::dsl::sql::<Bool>("true"))
            .get_result::<bool>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
    }
}
