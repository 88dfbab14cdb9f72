//! Schedules on a manual clock, with two workers (and two schedulers)
//! sharing the queue: the days the clocks change, every-minute slots, a
//! stopped deployment, the overlap and catch-up policies, and bad input.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _, TextExpressionMethods as _};
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use service::clock::Clock;
use service::schema::{jobs, runs, schedules};
use tokio::sync::watch;
use uuid::Uuid;

use crate::support::browser::Browser;
use crate::support::{TestApp, deploy_running, publish_agent};

const ECHO: &str = "export default async function run(input) {\n  return { echoed: input };\n}\n";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a time").to_utc()
}

/// One more worker and scheduler on the app's queue and clock, as a second
/// server would run them; `only_fire` leaves runs queued (no `run.execute`
/// handler), so a run stays "still going".
struct Extra {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Extra {
    fn spawn(app: &TestApp, only_fire: bool) -> Self {
        let (stop, stopped) = watch::channel(false);
        let registry = if only_fire {
            server::jobs::Registry::new().with(
                service::schedules::FIRE_JOB,
                server::jobs::scheduler::FireSchedule {
                    services: app.services.clone(),
                },
            )
        } else {
            server::jobs::Registry::server(&app.services)
        };
        let worker = server::jobs::Worker::new(
            app.services.db.clone(),
            app.db.url(),
            registry,
            server::jobs::WorkerConfig {
                clock: app.services.clock.clone(),
                ..server::jobs::WorkerConfig::default()
            },
        )
        .spawn(stopped.clone());
        let scheduler = server::jobs::scheduler::spawn(app.services.clone(), stopped);
        Self {
            stop,
            tasks: vec![worker, scheduler],
        }
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Waits until no schedule is due by the clock and no `schedule.fire` job
/// is waiting: every slot up to now is handled.
async fn settle(app: &TestApp) {
    let now = app.services.clock.now();
    let mut conn = app.sql().await;
    for _ in 0..400 {
        let due: i64 = schedules::table
            .filter(schedules::enabled.eq(true))
            .filter(schedules::next_at.le(now))
            .count()
            .get_result(&mut conn)
            .await
            .expect("due schedules");
        let firing: i64 = jobs::table
            .filter(jobs::kind.eq(service::schedules::FIRE_JOB))
            .filter(jobs::state.ne("dead"))
            .count()
            .get_result(&mut conn)
            .await
            .expect("fire jobs");
        if due == 0 && firing == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the schedules did not settle at {now}");
}

/// Moves the clock minute by minute to `until`, settling at each.
async fn step_to(app: &TestApp, until: DateTime<Utc>) {
    while app.services.clock.now() < until {
        let next = (app.services.clock.now() + TimeDelta::minutes(1)).min(until);
        app.services.clock.set(next);
        settle(app).await;
    }
}

/// The slots (as Unix seconds) the schedule's runs were started for.
async fn fired(app: &TestApp, schedule: &str) -> Vec<i64> {
    let mut conn = app.sql().await;
    let keys: Vec<Option<String>> = runs::table
        .filter(runs::idempotency_key.like(format!("schedule:{schedule}:%")))
        .filter(runs::trigger.eq("schedule"))
        .select(runs::idempotency_key)
        .order(runs::idempotency_key)
        .load(&mut conn)
        .await
        .expect("runs");
    let mut slots: Vec<i64> = keys
        .into_iter()
        .flatten()
        .map(|key| {
            key.rsplit(':')
                .next()
                .expect("a slot")
                .parse()
                .expect("seconds")
        })
        .collect();
    slots.sort_unstable();
    slots
}

async fn echo(owner: &mut Browser, name: &str) -> String {
    let slug = publish_agent(owner, name, |draft| {
        draft["source"] = json!(ECHO);
    })
    .await;
    deploy_running(owner, json!({ "agent": slug, "name": name }))
        .await
        .0
}

async fn add(owner: &mut Browser, deployment: &str, body: Value) -> Value {
    let (status, made) = owner
        .post(&format!("/api/v1/deployments/{deployment}/schedules"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

fn id(made: &Value) -> String {
    made["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn the_spring_forward_day_fires_a_skipped_time_once_and_every_minute_each_minute() {
    // Midnight in Berlin on 2027-03-28, the day 02:00 CET becomes 03:00 CEST.
    let clock = Clock::manual(at("2027-03-27T23:00:00Z"));
    let app = TestApp::builder().clock(clock).workers().spawn().await;
    let second = Extra::spawn(&app, false);
    let (mut owner, _) = Browser::sign_up(&app, "spring@example.com", "Spring").await;
    let deployment = echo(&mut owner, "Spring").await;
    let nightly = add(
        &mut owner,
        &deployment,
        json!({ "name": "Nightly", "cron": "30 2 * * *", "time_zone": "Europe/Berlin",
                "input": { "job": "nightly" } }),
    )
    .await;
    assert_eq!(
        nightly["upcoming"][0], "2027-03-28T01:30:00Z",
        "02:30 that does not exist fires at 03:30 CEST: {nightly}"
    );
    let minutely = add(
        &mut owner,
        &deployment,
        json!({ "name": "Minutely", "cron": "* * * * *", "overlap": "allow" }),
    )
    .await;

    step_to(&app, at("2027-03-28T03:00:00Z")).await;

    assert_eq!(
        fired(&app, &id(&nightly)).await,
        [at("2027-03-28T01:30:00Z").timestamp()],
        "the skipped 02:30 fires once"
    );
    let minutes = fired(&app, &id(&minutely)).await;
    let want: Vec<i64> = (1..=240)
        .map(|m| (at("2027-03-27T23:00:00Z") + TimeDelta::minutes(m)).timestamp())
        .collect();
    assert_eq!(minutes, want, "every slot once, none twice");
    // Runs carry the schedule's input, and ran.
    let mut conn = app.sql().await;
    let input: Value = runs::table
        .filter(runs::idempotency_key.like(format!("schedule:{}:%", id(&nightly))))
        .select(runs::input)
        .first(&mut conn)
        .await
        .expect("the nightly run");
    assert_eq!(input, json!({ "job": "nightly" }));
    second.stop().await;
}

#[tokio::test]
async fn the_fall_back_day_fires_a_repeated_time_once() {
    // 23:00 EDT on 2027-11-06; at 02:00 EDT on the 7th it is 01:00 EST.
    let clock = Clock::manual(at("2027-11-07T03:00:00Z"));
    let app = TestApp::builder().clock(clock).workers().spawn().await;
    let second = Extra::spawn(&app, false);
    let (mut owner, _) = Browser::sign_up(&app, "fall@example.com", "Fall").await;
    let deployment = echo(&mut owner, "Fall").await;
    let daily = add(
        &mut owner,
        &deployment,
        json!({ "name": "Daily", "cron": "30 1 * * *", "time_zone": "America/New_York" }),
    )
    .await;
    let hourly = add(
        &mut owner,
        &deployment,
        json!({ "name": "Hourly", "cron": "30 * * * *", "time_zone": "America/New_York",
                "overlap": "allow" }),
    )
    .await;

    step_to(&app, at("2027-11-07T09:00:00Z")).await;

    assert_eq!(
        fired(&app, &id(&daily)).await,
        [at("2027-11-07T05:30:00Z").timestamp()],
        "01:30 fires at its first pass only"
    );
    assert_eq!(
        fired(&app, &id(&hourly)).await,
        [
            "2027-11-07T03:30:00Z",
            "2027-11-07T04:30:00Z",
            "2027-11-07T05:30:00Z",
            "2027-11-07T06:30:00Z",
            "2027-11-07T07:30:00Z",
            "2027-11-07T08:30:00Z",
        ]
        .map(|t| at(t).timestamp()),
        "an every-hour schedule fires at both passes of 01:30"
    );
    second.stop().await;
}

#[tokio::test]
async fn stopped_deployments_overlap_and_catch_up_after_a_restart() {
    let clock = Clock::manual(at("2027-01-10T09:59:00Z"));
    // No workers of its own: the test starts and stops them, as servers
    // going down and coming back would.
    let app = TestApp::builder().clock(clock.clone()).spawn().await;
    let running = Extra::spawn(&app, false);
    let (mut owner, _) = Browser::sign_up(&app, "catch@example.com", "Catch").await;
    let deployment = echo(&mut owner, "Catch").await;
    let stopped = echo(&mut owner, "Stopped").await;
    let none = add(
        &mut owner,
        &deployment,
        json!({ "name": "None", "cron": "0 * * * *", "catch_up": "none" }),
    )
    .await;
    let last = add(
        &mut owner,
        &deployment,
        json!({ "name": "Last", "cron": "0 * * * *", "catch_up": "last" }),
    )
    .await;
    let idle = add(
        &mut owner,
        &stopped,
        json!({ "name": "Idle", "cron": "0 * * * *" }),
    )
    .await;
    let (status, _) = owner
        .post_empty(&format!("/api/v1/deployments/{stopped}/stop"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_status(&mut owner, &stopped, "stopped").await;

    step_to(&app, at("2027-01-10T10:00:30Z")).await;
    let ten = at("2027-01-10T10:00:00Z").timestamp();
    assert_eq!(fired(&app, &id(&none)).await, [ten]);
    assert_eq!(fired(&app, &id(&last)).await, [ten]);
    assert!(
        fired(&app, &id(&idle)).await.is_empty(),
        "a stopped deployment's schedule does not fire"
    );
    let (_, listed) = owner
        .get(&format!("/api/v1/deployments/{stopped}/schedules"))
        .await;
    assert_eq!(
        listed["items"][0]["last_outcome"], "skipped: the deployment was stopped",
        "{listed}"
    );

    // Every server goes down for three hours and twenty minutes.
    running.stop().await;
    clock.set(at("2027-01-10T13:20:00Z"));
    let restarted = Extra::spawn(&app, false);
    settle(&app).await;
    assert_eq!(
        fired(&app, &id(&none)).await,
        [ten],
        "catch-up none fires nothing missed"
    );
    assert_eq!(
        fired(&app, &id(&last)).await,
        [ten, at("2027-01-10T13:00:00Z").timestamp()],
        "catch-up last fires the last missed slot once"
    );
    let (_, listed) = owner
        .get(&format!("/api/v1/deployments/{deployment}/schedules"))
        .await;
    let none_now = &listed["items"][0];
    assert!(
        none_now["last_outcome"]
            .as_str()
            .is_some_and(|o| o.starts_with("missed")),
        "{listed}"
    );
    assert_eq!(none_now["upcoming"][0], "2027-01-10T14:00:00Z");
    step_to(&app, at("2027-01-10T14:00:30Z")).await;
    assert_eq!(fired(&app, &id(&none)).await.len(), 2, "then on as before");
    restarted.stop().await;

    // Overlap: with runs left queued (no run worker), "skip" starts no
    // second run while the first is still going; "allow" does.
    let only_fire = Extra::spawn(&app, true);
    let skip = add(
        &mut owner,
        &deployment,
        json!({ "name": "Skip", "every_seconds": 60, "overlap": "skip" }),
    )
    .await;
    let allow = add(
        &mut owner,
        &deployment,
        json!({ "name": "Allow", "every_seconds": 60, "overlap": "allow" }),
    )
    .await;
    step_to(&app, at("2027-01-10T14:03:00Z")).await;
    assert_eq!(fired(&app, &id(&skip)).await.len(), 1);
    assert_eq!(fired(&app, &id(&allow)).await.len(), 3);
    let (_, listed) = owner
        .get(&format!("/api/v1/deployments/{deployment}/schedules"))
        .await;
    let skip_now = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["name"] == "Skip")
        .expect("the skip schedule")
        .clone();
    assert_eq!(
        skip_now["last_outcome"],
        "skipped: the previous run is still going"
    );
    only_fire.stop().await;
}

async fn wait_status(owner: &mut Browser, deployment: &str, want: &str) {
    for _ in 0..400 {
        let (_, shown) = owner
            .get(&format!("/api/v1/deployments/{deployment}"))
            .await;
        if shown["status"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the deployment did not become {want}");
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field_and_deleted_ones_fire_no_more() {
    let clock = Clock::manual(at("2027-05-01T12:00:00Z"));
    let app = TestApp::builder().clock(clock).workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "bad@example.com", "Bad").await;
    let slug = publish_agent(&mut owner, "Typed", |draft| {
        draft["source"] = json!(ECHO);
        draft["manifest"]["input_schema"] = json!({
            "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] });
        draft["example_input"] = json!(r#"{"text": "hi"}"#);
    })
    .await;
    let (deployment, _) = deploy_running(&mut owner, json!({ "agent": slug })).await;
    let path = format!("/api/v1/deployments/{deployment}/schedules");
    for (body, field, says) in [
        (
            json!({ "name": "x", "cron": "61 * * * *", "input": { "text": "a" } }),
            "cron",
            "outside 0–59",
        ),
        (
            json!({ "name": "x", "cron": "* * * *", "input": { "text": "a" } }),
            "cron",
            "has 4 fields",
        ),
        (
            json!({ "name": "x", "cron": "0 0 30 2 *", "input": { "text": "a" } }),
            "cron",
            "never fires",
        ),
        (
            json!({ "name": "x", "cron": "0 9 * * *", "time_zone": "Europe/Atlantis", "input": { "text": "a" } }),
            "time_zone",
            "not an IANA",
        ),
        (
            json!({ "name": "x", "every_seconds": 10, "input": { "text": "a" } }),
            "every_seconds",
            "from 60",
        ),
        (
            json!({ "name": "x", "cron": "0 9 * * *", "every_seconds": 60, "input": { "text": "a" } }),
            "cron",
            "not both",
        ),
        (
            json!({ "name": "x", "cron": "0 9 * * *", "input": { "text": 5 } }),
            "input.text",
            "must be a string",
        ),
        (
            json!({ "name": "", "cron": "0 9 * * *", "input": { "text": "a" } }),
            "name",
            "1 to 80",
        ),
    ] {
        let (status, error) = owner.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(says)),
            "{body}: {error}"
        );
    }
    let (status, error) = owner
        .post(
            &path,
            json!({ "name": "x", "cron": "0 9 * * *", "input": { "text": "a" }, "colour": 1 }),
        )
        .await;
    assert!(status.is_client_error(), "{error}");
    assert!(error.to_string().contains("colour"), "{error}");

    let (status, preview) = owner
        .post(
            "/api/v1/schedules/preview",
            json!({ "cron": "0 9 * * 1-5", "time_zone": "Europe/Berlin" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    // 2027-05-01 is a Saturday: Monday 3rd to Friday 7th, 07:00 UTC (CEST).
    assert_eq!(
        preview["upcoming"],
        json!([
            "2027-05-03T07:00:00Z",
            "2027-05-04T07:00:00Z",
            "2027-05-05T07:00:00Z",
            "2027-05-06T07:00:00Z",
            "2027-05-07T07:00:00Z"
        ])
    );

    // Twenty at most; a deleted one fires no more; turned off, none shown.
    let mut made = Vec::new();
    for n in 0..20 {
        made.push(
            add(
                &mut owner,
                &deployment,
                json!({ "name": format!("s{n}"), "every_seconds": 3600, "input": { "text": "a" } }),
            )
            .await,
        );
    }
    let (status, error) = owner
        .post(
            &path,
            json!({ "name": "21st", "every_seconds": 60, "input": { "text": "a" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let first = id(&made[0]);
    let (status, off) = owner
        .patch(&format!("{path}/{first}"), json!({ "enabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["upcoming"], json!([]));
    let second = id(&made[1]);
    let (status, _) = owner.delete(&format!("{path}/{second}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    step_to(&app, at("2027-05-01T13:00:30Z")).await;
    assert!(fired(&app, &first).await.is_empty(), "off");
    assert!(fired(&app, &second).await.is_empty(), "deleted");
    assert_eq!(fired(&app, &id(&made[2])).await.len(), 1);
    // Someone else's schedule id is not found through this deployment.
    let (status, _) = owner
        .patch(
            &format!("{path}/{}", Uuid::new_v4()),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The changes are audited.
    let (_, audit) = owner.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for want in ["schedule.create", "schedule.change", "schedule.delete"] {
        assert!(actions.contains(&want), "{want} in {audit}");
    }
}
