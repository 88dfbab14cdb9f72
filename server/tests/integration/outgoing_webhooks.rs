//! Outgoing webhooks on a manual clock: the retry schedule, an endpoint
//! turned off after five days with its owner mailed, ordered delivery,
//! destinations that are not public, and who may do what. (Signatures are
//! checked by the official verifier in end2end/webhooks.test.mjs; `kill -9`
//! mid-delivery in crash.rs.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::ExpressionMethods as _;
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use service::clock::Clock;

use crate::support::browser::Browser;
use crate::support::{TestApp, mail, serve_stand_in};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a time").to_utc()
}

/// What a receiver was sent: `(webhook-id, body)` in order of arrival.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// Answers 500 to this many requests first.
    failures_left: Arc<Mutex<u32>>,
}

impl Receiver {
    async fn serve(&self) -> String {
        let this = self.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let this = this.clone();
                async move {
                    let id = headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    this.got
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, body));
                    let mut left = this.failures_left.lock().unwrap_or_else(|e| e.into_inner());
                    if *left > 0 {
                        *left -= 1;
                        (AxumStatus::INTERNAL_SERVER_ERROR, "not now")
                    } else {
                        (AxumStatus::OK, "thanks")
                    }
                }
            }),
        );
        format!("{}/hook", serve_stand_in(router).await)
    }

    fn fail_next(&self, times: u32) {
        *self.failures_left.lock().unwrap_or_else(|e| e.into_inner()) = times;
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn ids(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    async fn wait_for(&self, count: usize) {
        for _ in 0..800 {
            if self.count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the receiver got {} requests, not {count}", self.count());
    }

    /// Nothing more arrives for a moment.
    async fn stays_at(&self, count: usize) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(self.count(), count, "nothing is sent before its time");
    }
}

async fn endpoint(owner: &mut Browser, url: &str, ordered: bool) -> String {
    let (status, made) = owner
        .post(
            "/api/v1/webhooks/endpoints",
            json!({ "url": url, "event_types": ["run.succeeded"], "ordered": ordered }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(
        made["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    made["endpoint"]["id"].as_str().expect("an id").to_owned()
}

async fn send_test(owner: &mut Browser, endpoint: &str) -> Value {
    let (status, delivery) = owner
        .post_empty(&format!("/api/v1/webhooks/endpoints/{endpoint}/test"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    delivery
}

async fn log(owner: &mut Browser, endpoint: &str) -> Vec<Value> {
    let (status, log) = owner
        .get(&format!("/api/v1/webhooks/endpoints/{endpoint}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_the_fifth_attempt_with_the_same_id() {
    let clock = Clock::manual(at("2027-02-01T00:00:00Z"));
    let app = TestApp::builder()
        .clock(clock.clone())
        .workers()
        .spawn()
        .await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    let (mut owner, _) = Browser::sign_up(&app, "retry@example.com", "Retry").await;
    let endpoint = endpoint(&mut owner, &url, false).await;
    receiver.fail_next(4);

    send_test(&mut owner, &endpoint).await;
    receiver.wait_for(1).await;
    // The schedule: 5 s, 5 min, 30 min and 2 h after each failure.
    for (count, wait) in [(2, 5), (3, 300), (4, 1800), (5, 7200)] {
        clock.advance(Duration::from_secs(wait - 1));
        receiver.stays_at(count - 1).await;
        clock.advance(Duration::from_secs(1));
        receiver.wait_for(count).await;
    }
    let ids = receiver.ids();
    assert_eq!(ids.len(), 5);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id: {ids:?}"
    );

    let mut delivery = Value::Null;
    for _ in 0..200 {
        delivery = log(&mut owner, &endpoint).await[0].clone();
        if delivery["state"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivery["state"], "succeeded", "{delivery}");
    let statuses: Vec<i64> = delivery["attempt_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status"].as_i64().expect("a status"))
        .collect();
    assert_eq!(statuses, [500, 500, 500, 500, 200]);
    assert_eq!(delivery["attempt_log"][0]["response_body"], "not now");
    assert_eq!(
        delivery["attempt_log"][4]["request_headers"]["webhook-id"],
        ids[0]
    );
    assert_eq!(delivery["event_id"], ids[0]);
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_turned_off_and_its_owner_mailed() {
    let start = at("2027-02-01T00:00:00Z");
    let clock = Clock::manual(start);
    let app = TestApp::builder()
        .clock(clock.clone())
        .workers()
        .spawn()
        .await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    let (mut owner, _) = Browser::sign_up(&app, "failing@example.com", "Failing").await;
    let endpoint = endpoint(&mut owner, &url, false).await;
    receiver.fail_next(u32::MAX);

    send_test(&mut owner, &endpoint).await;
    receiver.wait_for(1).await;
    // Eight attempts over about 27 hours, then the delivery has failed.
    for (count, wait) in [
        (2, 5),
        (3, 300),
        (4, 1800),
        (5, 7200),
        (6, 18_000),
        (7, 36_000),
        (8, 36_000),
    ] {
        clock.advance(Duration::from_secs(wait));
        receiver.wait_for(count).await;
    }
    clock.advance(Duration::from_secs(36_000));
    receiver.stays_at(8).await;
    let delivery = log(&mut owner, &endpoint).await[0].clone();
    assert_eq!(delivery["attempts"], 8, "{delivery}");
    assert_eq!(delivery["state"], "failed", "{delivery}");
    let (_, shown) = owner
        .get(&format!("/api/v1/webhooks/endpoints/{endpoint}"))
        .await;
    assert_eq!(shown["enabled"], true, "failing, but not for five days yet");
    assert!(shown["failing_since"].is_string());

    // Five days after the first failure, the next failure turns it off.
    clock.set(start + TimeDelta::days(5) + TimeDelta::minutes(1));
    send_test(&mut owner, &endpoint).await;
    receiver.wait_for(9).await;
    let mut shown = Value::Null;
    for _ in 0..200 {
        (_, shown) = owner
            .get(&format!("/api/v1/webhooks/endpoints/{endpoint}"))
            .await;
        if shown["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shown["enabled"], false, "{shown}");
    assert_eq!(
        shown["disabled_reason"],
        "turned off after five days of failed deliveries"
    );
    let mails = mail::queued(&app, "failing@example.com").await;
    let notice = mails
        .iter()
        .find(|m| m["subject"] == "A webhook endpoint of yours was turned off")
        .unwrap_or_else(|| panic!("no notice in {mails:?}"));
    assert!(notice["text"].as_str().is_some_and(|t| t.contains(&url)));
    // Off: no test event, no redelivery, and nothing more is sent.
    let (status, _) = owner
        .post_empty(&format!("/api/v1/webhooks/endpoints/{endpoint}/test"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    clock.advance(Duration::from_secs(86_400));
    receiver.stays_at(9).await;
    // Turned on again, it starts afresh and the failed ones can be sent again.
    receiver.fail_next(0);
    let (status, on) = owner
        .patch(
            &format!("/api/v1/webhooks/endpoints/{endpoint}"),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert!(on["failing_since"].is_null());
    let (status, redelivered) = owner
        .post(
            &format!("/api/v1/webhooks/endpoints/{endpoint}/redeliver"),
            json!({ "since": "2026-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{redelivered}");
    assert_eq!(redelivered["queued"], 2);
    receiver.wait_for(11).await;
}

#[tokio::test]
async fn an_ordered_endpoint_gets_its_events_one_at_a_time_in_order() {
    let clock = Clock::manual(at("2027-03-01T00:00:00Z"));
    let app = TestApp::builder()
        .clock(clock.clone())
        .workers()
        .spawn()
        .await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    let (mut owner, _) = Browser::sign_up(&app, "ordered@example.com", "Ordered").await;
    let endpoint = endpoint(&mut owner, &url, true).await;
    receiver.fail_next(1);
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(send_test(&mut owner, &endpoint).await["event_id"].clone());
    }
    receiver.wait_for(1).await;
    // The head failed: the others wait for it.
    receiver.stays_at(1).await;
    clock.advance(Duration::from_secs(5));
    receiver.wait_for(4).await;
    let ids: Vec<Value> = receiver.ids().into_iter().map(Value::from).collect();
    assert_eq!(ids[1..], sent[..], "in the order of their events");
    assert_eq!(ids[0], sent[0]);
}

#[tokio::test]
async fn destinations_that_are_not_public_are_refused() {
    let app = TestApp::builder()
        .public_webhooks_only()
        .workers()
        .spawn()
        .await;
    let receiver = Receiver::default();
    let url = receiver.serve().await;
    let (mut owner, _) = Browser::sign_up(&app, "private@example.com", "Private").await;
    for private in [
        url.clone(),
        url.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]/hook".to_owned(),
    ] {
        let (status, error) = owner
            .post(
                "/api/v1/webhooks/endpoints",
                json!({ "url": private, "event_types": ["run.failed"] }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{private}: {error}"
        );
        assert_eq!(error["error"]["field"], "url");
    }
    // A name that resolved to a public address when it was added and
    // points inside now (or a row changed behind the API's back): the
    // delivery is refused at the connection, and nothing arrives.
    let endpoint = endpoint(&mut owner, "https://8.8.8.8/hook", false).await;
    let mut conn = app.sql().await;
    for inside in [url.clone(), url.replace("127.0.0.1", "localhost")] {
        diesel::update(service::schema::webhook_endpoints::table)
            .filter(
                service::schema::webhook_endpoints::id.eq(endpoint.parse::<uuid::Uuid>().unwrap()),
            )
            .set(service::schema::webhook_endpoints::url.eq(&inside))
            .execute(&mut conn)
            .await
            .expect("pointing the endpoint inside");
        let delivery = send_test(&mut owner, &endpoint).await;
        let mut attempt = Value::Null;
        for _ in 0..300 {
            let items = log(&mut owner, &endpoint).await;
            let found = items.iter().find(|d| d["id"] == delivery["id"]).cloned();
            if let Some(found) = found
                && found["attempt_log"][0].is_object()
            {
                attempt = found["attempt_log"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(attempt["status"].is_null(), "{attempt}");
        assert!(
            attempt["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("refused")),
            "{inside}: {attempt}"
        );
    }
    assert_eq!(receiver.count(), 0, "nothing reached the inside address");
}

#[tokio::test]
async fn bad_endpoints_are_refused_and_members_cannot_manage_them() {
    let app = TestApp::builder().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "bad-hooks@example.com", "Bad").await;
    for (body, field) in [
        (
            json!({ "url": "https://example.com/h", "event_types": [] }),
            "event_types",
        ),
        (
            json!({ "url": "https://example.com/h", "event_types": ["run.exploded"] }),
            "event_types",
        ),
        (
            json!({ "url": "ftp://example.com/h", "event_types": ["run.failed"] }),
            "url",
        ),
        (
            json!({ "url": "https://a:b@example.com/h", "event_types": ["run.failed"] }),
            "url",
        ),
        (
            json!({ "url": "https://8.8.8.8/h", "event_types": ["run.failed"], "description": "x".repeat(201) }),
            "description",
        ),
        (
            json!({ "url": "https://8.8.8.8/h", "event_types": ["run.failed"], "deployment_id": uuid::Uuid::new_v4() }),
            "deployment_id",
        ),
    ] {
        let (status, error) = owner.post("/api/v1/webhooks/endpoints", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let (status, _) = owner
        .post(
            "/api/v1/webhooks/endpoints/not-an-id/rotate-secret",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let endpoint = endpoint(&mut owner, "https://8.8.8.8/hook", false).await;
    let (status, error) = owner
        .post(
            &format!("/api/v1/webhooks/endpoints/{endpoint}/rotate-secret"),
            json!({ "overlap_seconds": 604_801 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    // Five test events a minute.
    for _ in 0..5 {
        send_test(&mut owner, &endpoint).await;
    }
    let (status, _) = owner
        .post_empty(&format!("/api/v1/webhooks/endpoints/{endpoint}/test"))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The secret is never shown again, and the changes are audited.
    let (_, shown) = owner
        .get(&format!("/api/v1/webhooks/endpoints/{endpoint}"))
        .await;
    assert!(!shown.to_string().contains("whsec_"), "{shown}");
    let (_, audit) = owner.get("/api/v1/audit").await;
    assert!(
        audit.to_string().contains("webhook_endpoint.create"),
        "{audit}"
    );
}
