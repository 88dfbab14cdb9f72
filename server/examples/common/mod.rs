//! What the benchmarks share: a private PostgreSQL with the app's database
//! made, and percentiles of timings.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::time::Duration;

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
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("opening the directory to the database user");
    let postgres = EmbeddedPostgres::start(&Options::new(dir.path())).expect("starting PostgreSQL");
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
