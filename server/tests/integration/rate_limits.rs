//! Brute-force and API rate limits: 429 with `Retry-After`. Failed
//! sign-ins make the account and the address wait, but never the owner's
//! known browser.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use server::rate_limit::{Backoff, Budget, LimitSettings};

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
async fn repeated_wrong_passwords_make_a_new_browser_wait_even_with_the_right_one() {
    let app = TestApp::builder()
        .limits(LimitSettings {
            login_per_account: Backoff {
                free: 3,
                first: Duration::from_secs(2),
                longest: Duration::from_secs(2),
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
    assert!(message.contains("reset the password"), "{message}");

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

/// OWASP's lock-out attack: a stranger floods the owner's account with
/// wrong passwords from another address. A new browser must wait, but the
/// browser the owner signed in with before (its device cookie) gets in at
/// once, and the stranger's failures never count against that device.
#[tokio::test]
async fn a_stranger_flooding_wrong_passwords_does_not_lock_out_the_owners_browser() {
    let app = TestApp::builder()
        .limits(LimitSettings {
            login_per_account: Backoff {
                free: 3,
                first: Duration::from_secs(300),
                longest: Duration::from_secs(900),
            },
            ..LimitSettings::default()
        })
        .spawn()
        .await;
    let (mut owner, _) = Browser::sign_up(&app, "owner@example.com", "Owner").await;
    assert!(owner.device.is_some(), "signing up makes the browser known");
    let (status, _) = owner.post_empty("/api/v1/auth/logout").await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The stranger: browsers without the cookie (on this machine from the
    // same address, whose own, larger allowance is not reached).
    for _ in 0..10 {
        let (_, status, _) =
            Browser::sign_in(&app, "owner@example.com", "wrong guess number 1").await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    let (_, status, body) = Browser::sign_in(&app, "owner@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "a new browser waits: {body}"
    );

    // The owner's browser, with its device cookie, is not refused.
    let (status, me) = owner
        .post(
            "/api/v1/auth/login",
            json!({ "email": "owner@example.com", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "owner@example.com");

    // A device cookie for another address opens nothing: the owner's
    // cookie shown while signing in to a third account is just ignored.
    let (_, _) = Browser::sign_up(&app, "third@example.com", "Third").await;
    for _ in 0..3 {
        let mut thief = Browser::new(&app);
        thief.device = owner.device.clone();
        let (status, _) = thief
            .post(
                "/api/v1/auth/login",
                json!({ "email": "third@example.com", "password": "wrong guess number 2" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let mut thief = Browser::new(&app);
    thief.device = owner.device.clone();
    let (status, _) = thief
        .post(
            "/api/v1/auth/login",
            json!({ "email": "third@example.com", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the third account waits as usual"
    );

    // A forged cookie is no device either.
    let mut forger = Browser::new(&app);
    forger.device = owner.device.as_ref().map(|c| format!("{c}x"));
    let (status, _) = forger
        .post(
            "/api/v1/auth/login",
            json!({ "email": "owner@example.com", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
