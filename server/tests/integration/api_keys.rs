//! API keys: shown once, stored hashed, usable as `Authorization: Bearer`,
//! revocable, expiring, exempt from CSRF, unable to manage keys themselves.

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, error_of, json_of};

async fn create_key(browser: &mut Browser, body: Value) -> (StatusCode, Value) {
    browser.post("/api/v1/api-keys", body).await
}

async fn with_key(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    app.http
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("a request with a key")
}

#[tokio::test]
async fn a_key_is_shown_once_and_acts_for_its_owner() {
    let app = TestApp::spawn().await;
    let (mut browser, me) = Browser::sign_up(&app, "keys@example.com", "Key Holder").await;
    let (status, created) = create_key(
        &mut browser,
        json!({ "name": "CI deploys", "scopes": ["deployments:write", "agents:read"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().expect("the token").to_owned();
    let prefix = created["key"]["prefix"].as_str().expect("prefix");
    assert!(
        token.starts_with(&format!("{prefix}_")) && token.len() > 50,
        "{token}"
    );
    assert_eq!(
        created["key"]["scopes"],
        json!(["agents:read", "deployments:write"])
    );
    assert_eq!(created["key"]["workspace"], me["workspaces"][0]["id"]);

    let (status, list) = browser.get("/api/v1/api-keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(
        !list.to_string().contains(&token),
        "the list must not repeat the token"
    );
    assert_eq!(list[0]["last_used_at"], Value::Null);

    let (status, key_me) = json_of(with_key(&app, Method::GET, "/api/v1/me", &token).await).await;
    assert_eq!(status, StatusCode::OK, "{key_me}");
    assert_eq!(key_me["user"]["email"], "keys@example.com");
    assert!(
        key_me.get("csrf_token").is_none(),
        "keys need no CSRF token"
    );

    // No CSRF token, no Origin: the request reaches the handler, which
    // refuses because keys may not manage keys.
    let response = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&token)
        .json(&json!({ "name": "more", "scopes": ["agents:read"] }))
        .send()
        .await
        .expect("POST");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    error_of(&body, "forbidden");

    let (_, list) = browser.get("/api/v1/api-keys").await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
}

#[tokio::test]
async fn revoked_expired_and_unknown_keys_get_401() {
    let app = TestApp::spawn().await;
    let (mut browser, _) = Browser::sign_up(&app, "revoke@example.com", "Revoker").await;
    let (_, first) = create_key(
        &mut browser,
        json!({ "name": "a", "scopes": ["agents:read"] }),
    )
    .await;
    let (_, second) = create_key(
        &mut browser,
        json!({ "name": "b", "scopes": ["agents:read"], "expires_in_days": 30 }),
    )
    .await;
    let first_token = first["token"].as_str().expect("token").to_owned();
    let second_token = second["token"].as_str().expect("token").to_owned();
    assert!(second["key"]["expires_at"].is_string());

    let id = first["key"]["id"].as_str().expect("id");
    let response = browser
        .send(Method::DELETE, &format!("/api/v1/api-keys/{id}"), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let mut conn = app.sql().await;
    diesel::sql_query(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind::<Text, _>(second["key"]["id"].as_str().expect("id"))
    .execute(&mut conn)
    .await
    .expect("expiring the key");

    for token in [
        first_token.as_str(),
        second_token.as_str(),
        "adk_0000_nothing",
        "not-a-key",
    ] {
        let response = with_key(&app, Method::GET, "/api/v1/agents", token).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
        error_of(&body, "invalid_api_key");
    }
}

#[tokio::test]
async fn nobody_revokes_or_lists_another_users_keys() {
    let app = TestApp::spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "owner@example.com", "Owner").await;
    let (mut other, _) = Browser::sign_up(&app, "other@example.com", "Other").await;
    let (_, key) = create_key(
        &mut owner,
        json!({ "name": "mine", "scopes": ["agents:read"] }),
    )
    .await;
    let id = key["key"]["id"].as_str().expect("id");

    for path in [
        format!("/api/v1/api-keys/{id}"),
        "/api/v1/api-keys/not-a-uuid".to_owned(),
    ] {
        let (status, body) = other.delete(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, list) = other.get("/api/v1/api-keys").await;
    assert_eq!(list, json!([]));
    let token = key["token"].as_str().expect("token");
    assert_eq!(
        with_key(&app, Method::GET, "/api/v1/me", token)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_key_requests_name_the_field() {
    let app = TestApp::spawn().await;
    let (mut browser, _) = Browser::sign_up(&app, "fields@example.com", "Fields").await;
    for (body, field) in [
        (json!({ "name": "x", "scopes": [] }), "scopes"),
        (json!({ "name": " ", "scopes": ["agents:read"] }), "name"),
        (json!({ "name": "x", "scopes": ["root"] }), "body"),
        (
            json!({ "name": "x", "scopes": ["agents:read"], "expires_in_days": 0 }),
            "expires_in_days",
        ),
    ] {
        let (status, error) = create_key(&mut browser, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let (status, body) = Browser::new(&app).get("/api/v1/api-keys").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
