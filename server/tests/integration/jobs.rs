//! The job queue against a real PostgreSQL: priorities, waking by
//! LISTEN/NOTIFY, retries with backoff, giving up, dead letters, taking over
//! a dead worker's jobs, handing jobs back at shutdown, unique keys, two
//! workers sharing a queue, and the admin view.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::RunQueryDsl as _;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::jobs::{Handler, Job, JobError, JobResult, Registry, Worker, WorkerConfig};
use service::jobs::{NewJob, enqueue};
use tokio::sync::watch;

use crate::support::TestApp;
use crate::support::browser::Browser;

/// Every call a handler got: (job id, payload, attempt, giving up).
type Calls = Arc<Mutex<Vec<(i64, Value, i32, bool)>>>;

/// Answers what the payload's `"outcome"` says: `ok` (the default), `retry`,
/// `fail`, `panic` or `hang`.
#[derive(Clone, Default)]
struct Scripted {
    calls: Calls,
}

impl Scripted {
    fn calls(&self) -> Vec<(i64, Value, i32, bool)> {
        self.calls.lock().expect("calls").clone()
    }
}

impl Handler for Scripted {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        self.calls
            .lock()
            .expect("calls")
            .push((job.id, job.payload.clone(), job.attempt, false));
        Box::pin(async move {
            match job.payload["outcome"].as_str().unwrap_or("ok") {
                "retry" => Err(JobError::Retry(format!("attempt {} failed", job.attempt))),
                "fail" => Err(JobError::Fail("the payload is hopeless".to_owned())),
                "panic" if job.attempt == 1 => panic!("a handler bug"),
                "hang" => std::future::pending().await,
                _ => Ok(()),
            }
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'static, JobResult> {
        self.calls.lock().expect("calls").push((
            job.id,
            json!({ "gave_up_with": error }),
            job.attempt,
            true,
        ));
        Box::pin(async { Ok(()) })
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll: Duration::from_secs(60),
        grace: Duration::from_millis(200),
        ..WorkerConfig::default()
    }
}

fn start(
    app: &TestApp,
    handler: &Scripted,
    config: WorkerConfig,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let pool = server::db::pool(app.db.url(), 4).expect("pool");
    let registry = Registry::new().with("test.scripted", handler.clone());
    let (stop, stopped) = watch::channel(false);
    let worker = Worker::new(pool, app.db.url(), registry, config).spawn(stopped);
    (stop, worker)
}

async fn add(app: &TestApp, job: NewJob) -> i64 {
    let mut conn = app.sql().await;
    enqueue(&mut conn, job)
        .await
        .expect("enqueue")
        .expect("a new job")
}

/// The job's row as (state, attempts, giving_up, last_error), or None once
/// it is deleted.
async fn row(app: &TestApp, id: i64) -> Option<(String, i32, bool, Option<String>)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        giving_up: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
    }
    let mut conn = app.sql().await;
    diesel::sql_query("SELECT state, attempts, giving_up, last_error FROM jobs WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .load::<Row>(&mut conn)
        .await
        .expect("reading the job")
        .pop()
        .map(|r| (r.state, r.attempts, r.giving_up, r.last_error))
}

/// Waits (at most 20 s) until `done` holds.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn jobs_run_once_highest_priority_first_and_are_deleted() {
    let app = TestApp::spawn().await;
    let handler = Scripted::default();
    let mut ids = Vec::new();
    for (n, priority) in [(1, 0), (2, 5), (3, -1), (4, 5)] {
        ids.push(
            add(
                &app,
                NewJob::new("test.scripted", json!({ "n": n })).priority(priority),
            )
            .await,
        );
    }
    let one_at_a_time = WorkerConfig {
        concurrency: 1,
        ..config()
    };
    let (stop, worker) = start(&app, &handler, one_at_a_time);
    eventually("four jobs", || async { handler.calls().len() == 4 }).await;
    let order: Vec<i64> = handler
        .calls()
        .iter()
        .map(|c| c.1["n"].as_i64().expect("n"))
        .collect();
    assert_eq!(order, [2, 4, 1, 3], "priority, then age");
    for id in ids {
        eventually("the job deleted", || async {
            row(&app, id).await.is_none()
        })
        .await;
    }

    // A job added while the worker idles is picked up on its notification,
    // long before the worker's 60 s poll.
    let id = add(&app, NewJob::new("test.scripted", json!({ "n": 5 }))).await;
    eventually("the notified job", || async {
        handler.calls().iter().any(|c| c.0 == id)
    })
    .await;
    stop.send_replace(true);
    worker.await.expect("the worker stops");
    assert_eq!(handler.calls().len(), 5, "each job ran once");
}

#[tokio::test]
async fn a_failing_job_backs_off_then_gives_up_and_rests_dead() {
    let app = TestApp::spawn().await;
    let handler = Scripted::default();
    let id = add(
        &app,
        NewJob::new("test.scripted", json!({ "outcome": "retry" })).max_attempts(2),
    )
    .await;
    let (stop, worker) = start(
        &app,
        &handler,
        WorkerConfig {
            poll: Duration::from_millis(100),
            ..config()
        },
    );
    eventually("the first attempt", || async { handler.calls().len() == 1 }).await;
    // After the first failure it waits out a backoff of about a second.
    eventually("the retry scheduled", || async {
        matches!(row(&app, id).await, Some((state, 1, false, Some(_))) if state == "queued")
    })
    .await;
    let mut conn = app.sql().await;
    let wait: f64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Double>(&format!(
        "extract(epoch FROM run_at - updated_at)::float8 FROM jobs WHERE id = {id}"
    )))
    .get_result(&mut conn)
    .await
    .expect("the backoff");
    assert!((0.7..=1.3).contains(&wait), "first backoff {wait} s");

    eventually("the job dead", || async {
        matches!(row(&app, id).await, Some((state, _, _, _)) if state == "dead")
    })
    .await;
    let calls = handler.calls();
    assert_eq!(calls.len(), 3, "two attempts, then give_up: {calls:?}");
    assert_eq!((calls[1].2, calls[1].3), (2, false));
    assert!(calls[2].3, "give_up ran");
    assert_eq!(calls[2].1["gave_up_with"], "attempt 2 failed");
    let (_, _, _, last_error) = row(&app, id).await.expect("kept");
    assert_eq!(last_error.as_deref(), Some("attempt 2 failed"));

    // A permanent failure skips the remaining attempts.
    let hopeless = add(
        &app,
        NewJob::new("test.scripted", json!({ "outcome": "fail" })),
    )
    .await;
    eventually("the hopeless job dead", || async {
        matches!(row(&app, hopeless).await, Some((state, 2, true, _)) if state == "dead")
    })
    .await;
    assert_eq!(
        handler.calls().iter().filter(|c| c.0 == hopeless).count(),
        2,
        "one attempt and give_up"
    );
    // A panicking handler fails its attempt only.
    let buggy = add(
        &app,
        NewJob::new("test.scripted", json!({ "outcome": "panic" })),
    )
    .await;
    eventually("the buggy job retried and done", || async {
        row(&app, buggy).await.is_none()
    })
    .await;
    assert_eq!(handler.calls().iter().filter(|c| c.0 == buggy).count(), 2);
    stop.send_replace(true);
    worker.await.expect("the worker stops");
}

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_when_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let handler = Scripted::default();
    let id = add(&app, NewJob::new("test.scripted", json!({ "n": 1 }))).await;
    // A worker claimed it and was killed: its lease runs out in a second.
    let mut conn = app.sql().await;
    diesel::sql_query(
        "UPDATE jobs SET state = 'running', worker = 'killed', attempts = 1, \
         lease_until = now() + interval '1 second' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut conn)
    .await
    .expect("claiming as a ghost");
    let short = WorkerConfig {
        lease: Duration::from_millis(600),
        poll: Duration::from_millis(100),
        ..config()
    };
    let (stop, worker) = start(&app, &handler, short);
    eventually("the job taken over and run", || async {
        row(&app, id).await.is_none()
    })
    .await;
    let calls = handler.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].2, 2, "the killed attempt counts");
    stop.send_replace(true);
    worker.await.expect("the worker stops");
}

#[tokio::test]
async fn stopping_hands_unfinished_jobs_back_without_counting_them() {
    let app = TestApp::spawn().await;
    let handler = Scripted::default();
    let id = add(
        &app,
        NewJob::new("test.scripted", json!({ "outcome": "hang" })),
    )
    .await;
    let (stop, worker) = start(&app, &handler, config());
    eventually("the job running", || async { handler.calls().len() == 1 }).await;
    stop.send_replace(true);
    worker.await.expect("the worker stops");
    let (state, attempts, giving_up, _) = row(&app, id).await.expect("kept");
    assert_eq!((state.as_str(), attempts, giving_up), ("queued", 0, false));
}

#[tokio::test]
async fn a_unique_key_allows_one_live_job() {
    let app = TestApp::spawn().await;
    let mut conn = app.sql().await;
    let first = enqueue(
        &mut conn,
        NewJob::new("test.scripted", json!({})).unique("deploy:1"),
    )
    .await
    .expect("enqueue");
    let second = enqueue(
        &mut conn,
        NewJob::new("test.scripted", json!({})).unique("deploy:1"),
    )
    .await
    .expect("enqueue");
    assert!(first.is_some());
    assert_eq!(second, None, "the second is dropped");
    let other = enqueue(
        &mut conn,
        NewJob::new("test.scripted", json!({})).unique("deploy:2"),
    )
    .await
    .expect("enqueue");
    assert!(other.is_some());
}

#[tokio::test]
async fn two_workers_share_a_queue_and_run_each_job_once() {
    let app = TestApp::spawn().await;
    let handler = Scripted::default();
    let mut conn = app.sql().await;
    diesel::sql_query(
        "INSERT INTO jobs (kind, payload) \
         SELECT 'test.scripted', jsonb_build_object('n', i) FROM generate_series(1, 600) i",
    )
    .execute(&mut conn)
    .await
    .expect("adding jobs");
    let (stop_a, a) = start(&app, &handler, config());
    let (stop_b, b) = start(&app, &handler, config());
    eventually("600 jobs run", || async { handler.calls().len() >= 600 }).await;
    eventually("the queue empty", || async {
        let count: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM jobs)",
        ))
        .get_result(&mut app.sql().await)
        .await
        .expect("count");
        count == 0
    })
    .await;
    stop_a.send_replace(true);
    stop_b.send_replace(true);
    a.await.expect("a stops");
    b.await.expect("b stops");
    let mut runs: HashMap<i64, usize> = HashMap::new();
    for call in handler.calls() {
        *runs.entry(call.1["n"].as_i64().expect("n")).or_default() += 1;
    }
    assert_eq!(runs.len(), 600);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice");
}

#[tokio::test]
async fn administrators_see_the_queue_and_retry_dead_jobs() {
    let app = TestApp::spawn().await;
    let (mut admin, me) = Browser::sign_up(&app, "root@example.com", "Root").await;
    let (mut user, _) = Browser::sign_up(&app, "user@example.com", "User").await;
    let mut conn = app.sql().await;
    diesel::sql_query("UPDATE users SET is_admin = true WHERE id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(me["user"]["id"].as_str().expect("id"))
        .execute(&mut conn)
        .await
        .expect("making an admin");
    add(&app, NewJob::new("test.scripted", json!({}))).await;
    add(
        &app,
        NewJob::new("test.scripted", json!({}))
            .run_at(chrono::Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let dead = add(&app, NewJob::new("test.other", json!({}))).await;
    diesel::sql_query(
        "UPDATE jobs SET state = 'dead', attempts = 8, last_error = 'the host is gone' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(dead)
    .execute(&mut conn)
    .await
    .expect("killing a job");

    let (status, _) = app.get_json("/api/v1/admin/jobs").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = user.get("/api/v1/admin/jobs").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, overview) = admin.get("/api/v1/admin/jobs").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let scripted = &overview["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == "test.scripted")
        .expect("a row")
        .clone();
    assert_eq!(
        (scripted["ready"].as_i64(), scripted["scheduled"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(overview["dead"][0]["id"], dead);
    assert_eq!(overview["dead"][0]["last_error"], "the host is gone");

    let path = format!("/api/v1/admin/jobs/{dead}/retry");
    let (status, _) = user.post_empty(&path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = admin.post_empty(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        row(&app, dead).await.map(|r| (r.0, r.1)),
        Some(("queued".to_owned(), 0))
    );
    let (status, _) = admin.post_empty(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only dead jobs are retried");
    let (status, body) = admin.post_empty("/api/v1/admin/jobs/x/retry").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
