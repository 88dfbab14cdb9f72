//! Triggers' latency: `cargo run --release -p server --example triggers_bench`.
//!
//! Starts a private PostgreSQL (the machine's binaries) and migrates and
//! seeds it, with one job worker of the server's own kind. Then:
//! 1. **Outgoing webhooks**: 1,000 events, one after the other, each
//!    emitted by a committed statement (`webhook_emit`, as the database's
//!    triggers call it) and delivered, signed, to a local HTTP endpoint:
//!    the time from the commit's return to the delivery's arrival.
//! 2. **Schedules**: 200 schedules (twenty on each of ten deployments),
//!    every minute, all due
//!    at the same minute: the time from each slot to its run being recorded
//!    (queued for a worker; executing it is the run path's own benchmark).
//!
//! Prints p50, p99 and the largest of each.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]
#![expect(
    clippy::disallowed_methods,
    reason = "the receiver is a stand-in, not a route of the API"
)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use server::jobs::{Registry, Worker, WorkerConfig};
use service::actor::Actor;
use tokio::sync::Notify;
use uuid::Uuid;

const EVENTS: usize = 1000;
const SCHEDULES: usize = 200;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let db = common::private_postgres(&runtime);
    runtime.block_on(async {
        server::db::migrate(&db.database_url)
            .await
            .expect("migrating");
        let pool = server::db::pool(&db.database_url, 16).expect("a pool");
        server::seed::run(&pool).await.expect("seeding");
        let services = service::Services::new(pool.clone())
            .with_secrets(&[7; 32])
            .with_runner(service::runs::Runner::new(None))
            .with_webhooks(service::webhooks::WebhookSettings::new(true));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let registry = Registry::new()
            .with(
                service::webhooks::DELIVER_JOB,
                server::jobs::scheduler::Deliver {
                    services: services.clone(),
                },
            )
            .with(
                service::schedules::FIRE_JOB,
                server::jobs::scheduler::FireSchedule {
                    services: services.clone(),
                },
            );
        let worker = Worker::new(
            pool.clone(),
            &db.database_url,
            registry,
            WorkerConfig::default(),
        )
        .spawn(stopped.clone());
        let scheduler = server::jobs::scheduler::spawn(services.clone(), stopped);
        let mut conn = AsyncPgConnection::establish(&db.database_url)
            .await
            .expect("connecting");
        let (user, workspace) = owner(&mut conn).await;
        let actor = Actor::Session {
            user_id: types::UserId(user),
            session_id: types::SessionId(Uuid::new_v4()),
            csrf_token: String::new(),
        };

        webhooks(&services, &actor, &mut conn, workspace).await;
        schedules(&services, &actor, &mut conn, workspace).await;

        stop.send_replace(true);
        let _ = worker.await;
        let _ = scheduler.await;
    });
}

/// A user owning a team workspace.
async fn owner(conn: &mut AsyncPgConnection) -> (Uuid, Uuid) {
    let (user, workspace) = (Uuid::new_v4(), Uuid::new_v4());
    diesel::sql_query(
        "WITH u AS (INSERT INTO users (id, handle, display_name) VALUES ($1, 'bench', 'Bench')), \
              w AS (INSERT INTO workspaces (id, kind, slug, name) VALUES ($2, 'team', 'bench', 'Bench')) \
         INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($2, $1, 'owner')",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Uuid, _>(workspace)
    .execute(conn)
    .await
    .expect("an owner");
    (user, workspace)
}

async fn webhooks(
    services: &service::Services,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
) {
    // The receiver notes when each event (by its number) arrived.
    let arrived: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let notify = Arc::new(Notify::new());
    let router = {
        let (arrived, notify) = (Arc::clone(&arrived), Arc::clone(&notify));
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let (arrived, notify) = (Arc::clone(&arrived), Arc::clone(&notify));
                async move {
                    let at = Instant::now();
                    let event: serde_json::Value = serde_json::from_str(&body).expect("JSON");
                    let n = event["data"]["n"].as_u64().expect("a number");
                    arrived.lock().expect("the map").insert(n, at);
                    notify.notify_one();
                    "ok"
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    service::webhooks::create(
        services,
        actor,
        &service::actor::RequestMeta::default(),
        types::webhooks::NewWebhookEndpoint {
            url,
            event_types: vec!["credits.low".to_owned()],
            workspace: Some("bench".to_owned()),
            ..Default::default()
        },
    )
    .await
    .expect("an endpoint");
    let mut latencies = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS as u64 {
        diesel::sql_query(
            "SELECT webhook_emit($1, NULL, 'credits.low', jsonb_build_object('n', $2::bigint))",
        )
        .bind::<diesel::sql_types::Uuid, _>(workspace)
        .bind::<diesel::sql_types::BigInt, _>(n as i64)
        .execute(conn)
        .await
        .expect("an event");
        let committed = Instant::now();
        loop {
            let notified = notify.notified();
            if let Some(at) = arrived.lock().expect("the map").get(&n) {
                latencies.push(at.saturating_duration_since(committed));
                break;
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), notified).await;
        }
    }
    latencies.sort_unstable();
    println!(
        "webhook event committed -> delivered, {EVENTS} events: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(common::percentile(&latencies, 0.5)),
        ms(common::percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("timings")),
    );
}

async fn schedules(
    services: &service::Services,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
) {
    // A running deployment of the seeded analytics agent, free to run.
    diesel::sql_query("UPDATE agents SET price_credits = 0 WHERE slug = 'analytics'")
        .execute(conn)
        .await
        .expect("free");
    // Ten deployments of twenty schedules (a deployment's most).
    let deployments: Vec<Uuid> = (0..SCHEDULES / 20).map(|_| Uuid::new_v4()).collect();
    for deployment in &deployments {
        diesel::sql_query(
            "INSERT INTO deployments (id, workspace_id, agent_id, version_id, name, status, created_by) \
             SELECT $1, $2, a.id, v.id, 'bench', 'running', $3 \
             FROM agents a JOIN agent_versions v ON v.agent_id = a.id WHERE a.slug = 'analytics'",
        )
        .bind::<diesel::sql_types::Uuid, _>(*deployment)
        .bind::<diesel::sql_types::Uuid, _>(workspace)
        .bind::<diesel::sql_types::Uuid, _>(actor.user_id().expect("a user").0)
        .execute(conn)
        .await
        .expect("a deployment");
    }
    let example: serde_json::Value =
        serde_json::from_str(include_str!("../../agents/launch/analytics/example.json"))
            .expect("the example");
    for n in 0..SCHEDULES {
        service::schedules::create(
            services,
            actor,
            &service::actor::RequestMeta::default(),
            deployments[n % deployments.len()],
            types::triggers::NewSchedule {
                name: format!("s{n}"),
                every_seconds: Some(60),
                input: Some(example["input"].clone()),
                overlap: Some(types::triggers::Overlap::Allow),
                ..Default::default()
            },
        )
        .await
        .expect("a schedule");
    }
    // More than the deployment runs at once is fine: async runs queue.
    let started = Instant::now();
    let mut latencies: Vec<Duration> = Vec::new();
    while latencies.len() < SCHEDULES {
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the slots did not fire"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        #[derive(diesel::QueryableByName)]
        struct Late {
            #[diesel(sql_type = diesel::sql_types::Double)]
            seconds: f64,
        }
        let rows: Vec<Late> = diesel::sql_query(
            "SELECT extract(epoch FROM r.created_at - to_timestamp(split_part(r.idempotency_key, ':', 3)::bigint))::float8 AS seconds \
             FROM runs r WHERE r.deployment_id = ANY($1) AND r.trigger = 'schedule'",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&deployments)
        .load(conn)
        .await
        .expect("the runs");
        latencies = rows
            .iter()
            .map(|row| Duration::from_secs_f64(row.seconds.max(0.0)))
            .collect();
    }
    latencies.sort_unstable();
    println!(
        "schedule slot -> run recorded, {} schedules due at one minute: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(common::percentile(&latencies, 0.5)),
        ms(common::percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("timings")),
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
