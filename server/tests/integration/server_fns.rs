//! The SPA's server functions over real HTTP, answering as the REST API does
//! because both call the same service.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn list_agents_matches_the_rest_api() {
    let app = TestApp::spawn().await;
    let (status, from_fn) = app
        .call_server_fn("list_agents", "query[category]=sales&query[limit]=2")
        .await;
    assert_eq!(status, StatusCode::OK, "{from_fn}");
    let (_, from_rest) = app.get_json("/api/v1/agents?category=sales&limit=2").await;
    assert_eq!(from_fn, from_rest);
    assert_eq!(from_fn["items"].as_array().map(Vec::len), Some(2));
    assert!(
        from_fn["next_cursor"].is_string(),
        "a third sales agent follows"
    );
}

#[tokio::test]
async fn get_agent_returns_the_detail() {
    let app = TestApp::spawn().await;
    let (status, agent) = app.call_server_fn("get_agent", "slug=analytics").await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    assert_eq!(agent["name"], "Analytics");
    let (_, from_rest) = app.get_json("/api/v1/agents/analytics").await;
    assert_eq!(agent, from_rest);
}

#[tokio::test]
async fn errors_carry_the_service_status_and_field() {
    let app = TestApp::spawn().await;
    let (status, error) = app.call_server_fn("list_agents", "query[limit]=-1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["code"], "invalid_parameter", "{error}");
    assert_eq!(error["field"], "limit", "{error}");
    assert!(error["request_id"].is_string(), "{error}");

    let (status, error) = app.call_server_fn("get_agent", "slug=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["code"], "not_found", "{error}");
}

#[tokio::test]
async fn unreadable_arguments_are_a_400_naming_the_problem() {
    let app = TestApp::spawn().await;
    for body in ["", "query[limit]=many", "query=1"] {
        let (status, error) = app.call_server_fn("list_agents", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["code"], "invalid_request", "{body}: {error}");
        assert!(error["request_id"].is_string(), "{error}");
    }
}

#[tokio::test]
async fn unknown_functions_and_wrong_methods_get_the_api_errors() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call_server_fn("drop_everything", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    crate::support::error_of(&body, "not_found");

    // Reads are GETs: a POST (which would need the CSRF rules) is refused.
    let response = app
        .http
        .post(app.url("/api/fn/list_agents"))
        .header(reqwest::header::ORIGIN, &app.base_url)
        .json(&json!({ "query": {} }))
        .send()
        .await
        .expect("posting");
    let (status, body) = crate::support::json_of(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    crate::support::error_of(&body, "method_not_allowed");
}
