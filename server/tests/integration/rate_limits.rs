//! Brute-force and API rate limits: 429 with `Retry-After`. Failed
//! sign-ins make the account and the address wait, but never the owner's
//! known browser.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
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

/// A browser connecting from another local address (all of 127/8 is this
/// machine), so the server sees another client address.
fn from_elsewhere(app: &TestApp) -> Browser {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client bound to 127.0.0.2");
    Browser {
        http,
        ..Browser::new(app)
    }
}

async fn sign_in_as(browser: &mut Browser, email: &str, password: &str) -> (StatusCode, Value) {
    browser
        .post(
            "/api/v1/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
}

/// OWASP's lock-out attack: a stranger floods the owner's account with
/// wrong passwords from another address. A new browser must wait, but the
/// browser the owner signed in with before (its device cookie) gets in at
/// once; the stranger's address ends up waiting for every account, the
/// owner's does not.
#[tokio::test]
async fn a_stranger_flooding_wrong_passwords_from_elsewhere_does_not_lock_out_the_owner() {
    let app = TestApp::builder()
        .limits(LimitSettings {
            login_per_account: Backoff {
                free: 3,
                first: Duration::from_secs(300),
                longest: Duration::from_secs(900),
            },
            login_per_ip: Backoff {
                free: 8,
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

    let mut stranger = from_elsewhere(&app);
    let mut refused = 0;
    for _ in 0..20 {
        let (status, _) = sign_in_as(&mut stranger, "owner@example.com", "wrong guess 1").await;
        match status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(refused, 17, "three free failures, then the account waits");

    // A new browser at the owner's address waits for the account...
    let (status, body) = sign_in_as(
        &mut Browser::new(&app),
        "owner@example.com",
        STRONG_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // ...but the owner's known browser gets in.
    let (status, me) = sign_in_as(&mut owner, "owner@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "owner@example.com");

    // The stranger's address waits for any account after its failures.
    for i in 0..5 {
        let (status, _) =
            sign_in_as(&mut stranger, &format!("victim{i}@example.com"), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = sign_in_as(&mut stranger, "victim9@example.com", "guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("this address")
    );
    let (_, _) = Browser::sign_up(&app, "third@example.com", "Third").await;
    let (status, _) = sign_in_as(
        &mut Browser::new(&app),
        "third@example.com",
        STRONG_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the owner's address is not waiting");

    // A device cookie for another address opens nothing, nor does a forged one.
    let mut thief = from_elsewhere(&app);
    thief.device = owner.device.clone();
    let (status, _) = sign_in_as(&mut thief, "third@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address still waits"
    );
    let mut forger = Browser::new(&app);
    forger.device = owner.device.as_ref().map(|c| format!("{c}x"));
    let (status, _) = sign_in_as(&mut forger, "owner@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // A password change makes every other known browser a stranger again;
    // the browser that changed it stays known.
    let stale = owner.device.clone();
    let (status, _) = owner
        .post(
            "/api/v1/me/password",
            json!({ "current_password": STRONG_PASSWORD,
                    "new_password": "violet ledger under the quiet harbour" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_ne!(owner.device, stale, "a new device cookie");
    let mut old_copy = Browser::new(&app);
    old_copy.device = stale;
    let (status, _) = sign_in_as(
        &mut old_copy,
        "owner@example.com",
        "violet ledger under the quiet harbour",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the old cookie counts for nothing"
    );
    let (status, _) = sign_in_as(
        &mut owner,
        "owner@example.com",
        "violet ledger under the quiet harbour",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
