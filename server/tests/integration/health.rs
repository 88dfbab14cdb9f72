//! Liveness, readiness, request ids and what clients see when the database
//! goes away.

use std::collections::HashSet;

use reqwest::StatusCode;

use crate::support::{TestApp, error_of};

#[tokio::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &"ok".into()));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn every_response_has_a_fresh_request_id() {
    let app = TestApp::spawn().await;
    let mut ids = HashSet::new();
    for path in [
        "/healthz",
        "/healthz",
        "/api/v1/agents",
        "/",
        "/api/missing",
    ] {
        let response = app
            .http
            .get(app.url(path))
            .header("x-request-id", "chosen-by-the-client")
            .send()
            .await
            .expect("GET");
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(id.len(), 32, "{path}: {id}");
        assert!(ids.insert(id), "{path} reused a request id");
    }
}

#[tokio::test]
async fn losing_the_database_gives_503s_without_internals() {
    let app = TestApp::spawn().await;
    let (status, _) = app.get_json("/api/v1/agents").await;
    assert_eq!(status, StatusCode::OK);

    app.db.drop_now().await;

    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], "unreachable");
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = app.get_json("/api/v1/agents").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = error_of(&body, "unavailable");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("database \"t_"),
        "internal detail leaked: {message}"
    );
}
