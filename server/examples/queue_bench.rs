//! Job queue throughput with no-op jobs:
//! `cargo run --release -p server --example queue_bench`.
//!
//! Starts a private PostgreSQL (the machine's binaries, full durability as
//! the server runs it) in a temporary directory and migrates it. Then, in
//! the same run:
//! 1. the reference: `pgbench` inserting single rows into a one-column
//!    table, 2 clients, 10 s;
//! 2. draining a backlog: 50,000 no-op jobs inserted at once, then one
//!    worker (the server's own, 64 at a time) runs them all;
//! 3. steady flow: 4 producers each enqueueing single jobs through
//!    `service::jobs::enqueue` for 10 s while the worker runs them.
//!
//! Prints jobs per second for each and the ratio to pgbench's inserts.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use server::embedded_pg::{self};
use server::jobs::{NOOP, Registry, Worker, WorkerConfig};
use service::jobs::{NewJob, enqueue};

const BACKLOG: i64 = 50_000;
const PRODUCERS: usize = 4;
const FLOW: Duration = Duration::from_secs(10);

fn main() {
    let bin_dir = embedded_pg::find_binaries(None).expect("PostgreSQL binaries");
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let mut db = common::private_postgres(&runtime);
    runtime.block_on(async {
        server::db::migrate(&db.database_url)
            .await
            .expect("migrating");
        let mut conn = AsyncPgConnection::establish(&db.database_url)
            .await
            .expect("connecting");
        diesel::sql_query("CREATE TABLE bench_rows (v integer)")
            .execute(&mut conn)
            .await
            .expect("the pgbench table");
        let reference = pgbench(&bin_dir, db.postgres.cluster_dir());
        println!("pgbench, single-row inserts, 2 clients: {reference:.0} per second");

        // A backlog, drained.
        let started = Instant::now();
        diesel::sql_query("INSERT INTO jobs (kind) SELECT 'noop' FROM generate_series(1, $1)")
            .bind::<diesel::sql_types::BigInt, _>(BACKLOG)
            .execute(&mut conn)
            .await
            .expect("the backlog");
        println!(
            "enqueued {BACKLOG} jobs in one statement in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let pool = server::db::pool(&db.database_url, 8).expect("a pool");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let config = WorkerConfig {
            concurrency: 64,
            ..WorkerConfig::default()
        };
        let worker =
            Worker::new(pool.clone(), &db.database_url, Registry::new(), config).spawn(stopped);
        let started = Instant::now();
        wait_empty(&mut conn).await;
        let drained = started.elapsed().as_secs_f64();
        let backlog_rate = BACKLOG as f64 / drained;
        println!(
            "drained {BACKLOG} no-op jobs in {drained:.2} s: {backlog_rate:.0} per second \
             ({:.2}× pgbench's inserts)",
            backlog_rate / reference
        );

        // Steady flow: single enqueues from several producers.
        let enqueued = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + FLOW;
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let pool = pool.clone();
                let enqueued = Arc::clone(&enqueued);
                tokio::spawn(async move {
                    let mut conn = pool.get().await.expect("a connection");
                    while Instant::now() < deadline {
                        enqueue(&mut conn, NewJob::new(NOOP, serde_json::json!({})))
                            .await
                            .expect("enqueue");
                        enqueued.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let started = Instant::now();
        for producer in producers {
            producer.await.expect("a producer");
        }
        wait_empty(&mut conn).await;
        let elapsed = started.elapsed().as_secs_f64();
        let flow = AtomicU64::load(&enqueued, Ordering::Relaxed) as f64;
        println!(
            "steady flow: {flow:.0} jobs enqueued one by one by {PRODUCERS} producers and run \
             in {elapsed:.2} s: {:.0} per second ({:.2}× pgbench's inserts)",
            flow / elapsed,
            flow / elapsed / reference
        );
        stop.send_replace(true);
        worker.await.expect("the worker stops");
    });
    drop(runtime);
    db.postgres.stop().expect("stopping PostgreSQL");
}

/// Waits until no job is left.
async fn wait_empty(conn: &mut AsyncPgConnection) {
    loop {
        let left: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM jobs)",
        ))
        .get_result(conn)
        .await
        .expect("counting jobs");
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// pgbench's transactions per second for single-row inserts.
fn pgbench(bin_dir: &std::path::Path, socket_dir: &std::path::Path) -> f64 {
    let script = socket_dir.join("insert.sql");
    std::fs::write(&script, "INSERT INTO bench_rows (v) VALUES (1);\n").expect("the script");
    let output = Command::new(bin_dir.join("pgbench"))
        .args(["-n", "-c", "2", "-j", "2", "-T", "10", "-f"])
        .arg(&script)
        .arg("-h")
        .arg(socket_dir)
        .args(["-p", "5432", "-U", embedded_pg::ROLE, embedded_pg::DATABASE])
        .output()
        .expect("running pgbench");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| {
            line.strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|number| number.parse().ok())
        })
        .unwrap_or_else(|| {
            panic!(
                "no tps in pgbench's output: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}
