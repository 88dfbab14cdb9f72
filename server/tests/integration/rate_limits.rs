//! Brute-force and API rate limits: 429 with `Retry-After`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use server::rate_limit::{Budget, LimitSettings};

use crate::support::browser::{Browser, STRONG_PASSWORD};
use crate::support::{TestApp, error_of};

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds")
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_even_for_the_right_one() {
    let app = TestApp::builder()
        .limits(LimitSettings {
            login_per_account: Budget {
                requests: 3,
                window: Duration::from_secs(6),
            },
            ..LimitSettings::default()
        })
        .spawn()
        .await;
    Browser::sign_up(&app, "target@example.com", "Target").await;
    for _ in 0..3 {
        let (_, status, _) =
            Browser::sign_in(&app, "target@example.com", "guess guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = Browser::new(&app)
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({ "email": "Target@example.com", "password": STRONG_PASSWORD })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&response);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let (_, body) = crate::support::json_of(response).await;
    let message = error_of(&body, "rate_limited")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("this account"), "{message}");

    // Another account from the same address is not locked.
    Browser::sign_up(&app, "bystander@example.com", "Bystander").await;
    let (_, status, _) = Browser::sign_in(&app, "bystander@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // Once the window has passed, the right password works again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (_, status, body) = Browser::sign_in(&app, "target@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_api_limits_each_address() {
    let app = TestApp::builder()
        .limits(LimitSettings {
            api_per_ip: Budget {
                requests: 5,
                window: Duration::from_secs(60),
            },
            ..LimitSettings::default()
        })
        .spawn()
        .await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/agents").await.status(), StatusCode::OK);
    }
    let response = app.get("/api/v1/agents").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&response) >= 1);
    let (_, body) = crate::support::json_of(response).await;
    error_of(&body, "rate_limited");
    // Health checks and the app itself are not API calls.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
}
