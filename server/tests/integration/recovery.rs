//! Proving an address and getting back in: verification links, the
//! actions an unverified account may not take, password resets (the same
//! answer for any address; a link that works once, for an hour, and ends
//! every session), password and address changes, and the mail itself over
//! a real SMTP server (aiosmtpd, from PyPI) or into the local outbox.

use std::time::Duration;

use diesel::sql_types::{Double, Text};
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::{Browser, STRONG_PASSWORD};
use crate::support::mail::{link_token, queued, token_in, wait_for_token};
use crate::support::stripe::FakeStripe;
use crate::support::{TestApp, error_of};

const NEW_PASSWORD: &str = "violet ledger under the quiet harbour";

#[derive(diesel::QueryableByName)]
struct Hours {
    #[diesel(sql_type = Double)]
    hours: f64,
}

/// How long the newest live `purpose` token of `email` lasts, in hours.
async fn lifetime_hours(app: &TestApp, email: &str, purpose: &str) -> f64 {
    diesel::sql_query(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 3600 AS hours \
         FROM account_tokens WHERE email = $1 AND purpose = $2 ORDER BY created_at DESC LIMIT 1",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(purpose)
    .get_result::<Hours>(&mut app.sql().await)
    .await
    .expect("a token")
    .hours
}

/// Moves `email`'s live `purpose` tokens `minutes` into the past, as if
/// that much time had gone by.
async fn age_tokens(app: &TestApp, email: &str, purpose: &str, minutes: i32) {
    diesel::sql_query(
        "UPDATE account_tokens SET created_at = created_at - make_interval(mins => $3), \
                expires_at = expires_at - make_interval(mins => $3) \
         WHERE email = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(purpose)
    .bind::<diesel::sql_types::Integer, _>(minutes)
    .execute(&mut app.sql().await)
    .await
    .expect("ageing the tokens");
}

/// Sets `password` with a reset link's `token`, in `browser`.
async fn complete_reset(browser: &mut Browser, token: &str, password: &str) -> (StatusCode, Value) {
    browser
        .post(
            "/api/v1/auth/password-reset/complete",
            json!({ "token": token, "password": password }),
        )
        .await
}

/// Follows a verification link's `token`, in `browser`.
async fn verify(browser: &mut Browser, token: &str) -> (StatusCode, Value) {
    browser
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Action {
        #[diesel(sql_type = Text)]
        action: String,
    }
    diesel::sql_query("SELECT action FROM audit_events ORDER BY id")
        .load::<Action>(&mut app.sql().await)
        .await
        .expect("the audit log")
        .into_iter()
        .map(|row| row.action)
        .collect()
}

#[tokio::test]
async fn signing_up_mails_a_link_that_verifies_the_address_once_within_a_day() {
    let app = TestApp::spawn().await;
    let (mut ada, me) = Browser::sign_up_unverified(&app, "ada@example.com", "Ada").await;
    assert_eq!(me["user"]["email_verified"], false);
    let mails = queued(&app, "ada@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0]["subject"],
        "Verify your email address for Agentdeck"
    );
    let token = token_in(mails[0]["text"].as_str().expect("text"), "verify-email").expect("a link");
    assert!(mails[0]["html"].as_str().expect("html").contains(&token));
    assert_eq!(token.len(), 43);
    let hours = lifetime_hours(&app, "ada@example.com", "verify_email").await;
    assert!((hours - 24.0).abs() < 0.01, "{hours}");

    // The link works in any browser, signed in or not.
    let mut elsewhere = Browser::new(&app);
    let (status, verified) = verify(&mut elsewhere, &token).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(
        verified,
        json!({ "email": "ada@example.com", "changed": false })
    );
    let (_, me) = ada.get("/api/v1/me").await;
    assert_eq!(me["user"]["email_verified"], true);

    // Once only.
    let (status, again) = verify(&mut elsewhere, &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&again, "invalid_parameter")["field"], "token");
    assert!(
        audit_actions(&app)
            .await
            .contains(&"user.email_verified".to_owned())
    );

    // A link past its day does nothing.
    let (_, _) = Browser::sign_up_unverified(&app, "late@example.com", "Late").await;
    let token = link_token(&app, "late@example.com", "verify-email").await;
    age_tokens(&app, "late@example.com", "verify_email", 24 * 60 + 1).await;
    let (status, late) = verify(&mut Browser::new(&app), &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{late}");
}

#[tokio::test]
async fn a_new_link_replaces_the_old_one_and_resending_is_limited() {
    use server::rate_limit::{Budget, LimitSettings};
    let app = TestApp::builder()
        .limits(LimitSettings {
            mail_per_recipient: Budget {
                requests: 2,
                window: Duration::from_secs(3600),
            },
            ..LimitSettings::default()
        })
        .spawn()
        .await;
    let (mut ada, _) = Browser::sign_up_unverified(&app, "ada@example.com", "Ada").await;
    let first = link_token(&app, "ada@example.com", "verify-email").await;
    let (status, sent) = ada.post_empty("/api/v1/me/email/verification").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent, json!({ "to": "ada@example.com" }));
    let second = link_token(&app, "ada@example.com", "verify-email").await;
    assert_ne!(first, second);
    let (status, _) = ada.post_empty("/api/v1/me/email/verification").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let response = ada
        .send(reqwest::Method::POST, "/api/v1/me/email/verification", None)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));

    let (status, _) = verify(&mut ada, &first).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the first link was replaced"
    );
    let newest = link_token(&app, "ada@example.com", "verify-email").await;
    let (status, _) = verify(&mut ada, &newest).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ada.post_empty("/api/v1/me/email/verification").await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to verify: {body}");
}

#[tokio::test]
async fn an_unverified_account_browses_edits_and_tests_but_takes_none_of_the_guarded_actions() {
    let stripe = FakeStripe::start().await;
    let app = TestApp::builder().payments(&stripe.base_url).spawn().await;
    let (mut olive, _) = Browser::sign_up(&app, "olive@example.com", "Olive").await;
    let (status, _) = olive
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, invite) = olive
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": "newt@example.com", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let invite_token = invite["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token");

    let (mut newt, _) = Browser::sign_up_unverified(&app, "newt@example.com", "Newt").await;
    // Browsing, drafting and test runs work.
    let (status, _) = newt.get("/api/v1/agents").await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = newt
        .post("/api/v1/agents", json!({ "name": "Newt's agent" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    let (status, run) = newt
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": "export default function run(input) { return { ok: true }; }",
                    "manifest": {}, "input": "{}" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");

    // The guarded actions are refused, saying why, and change nothing.
    let refusals = [
        (
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read"] }),
        ),
        (
            &*format!("/api/v1/agents/{slug}/versions"),
            json!({ "version": "1.0.0" }),
        ),
        (
            &*format!("/api/v1/invites/{invite_token}/accept"),
            json!({}),
        ),
        ("/api/v1/billing/checkout", json!({ "credits": 500 })),
    ];
    for (path, body) in &refusals {
        let (status, refused) = newt.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {refused}");
        let message = error_of(&refused, "email_unverified")["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("Verify your email address"), "{message}");
    }
    let (_, keys) = newt.get("/api/v1/api-keys").await;
    assert_eq!(keys, json!([]));
    let (_, teams) = newt.get("/api/v1/teams").await;
    assert_eq!(teams, json!([]));
    // The same through the SPA's functions.
    let (status, refused) = crate::support::server_fn::post(
        &mut newt,
        "create_api_key",
        json!({ "request": { "name": "k", "scopes": ["agents:read"] } }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["code"], "email_unverified");

    // Verified, every one of them works.
    let token = link_token(&app, "newt@example.com", "verify-email").await;
    let (status, _) = verify(&mut newt, &token).await;
    assert_eq!(status, StatusCode::OK);
    for (path, body) in &refusals {
        let (status, done) = newt.post(path, body.clone()).await;
        assert!(status.is_success(), "{path}: {status} {done}");
    }
}

/// Signs `email` up, verified, in a browser of its own.
async fn account(app: &TestApp, email: &str) -> Browser {
    Browser::sign_up(app, email, "Ada").await.0
}

#[tokio::test]
async fn a_reset_link_works_once_for_an_hour_and_ends_every_session() {
    let app = TestApp::builder().workers().spawn().await;
    let mut first = account(&app, "ada@example.com").await;
    let (mut second, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, key) = first
        .post(
            "/api/v1/api-keys",
            json!({ "name": "ci", "scopes": ["agents:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["token"].as_str().expect("a token").to_owned();

    let mut forgetful = Browser::new(&app);
    let (status, body) = forgetful
        .post(
            "/api/v1/auth/password-reset",
            json!({ "email": " Ada@Example.com " }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, json!({}));
    let token = wait_for_token(&app, "ada@example.com", "reset-password").await;
    let hours = lifetime_hours(&app, "ada@example.com", "reset_password").await;
    assert!((hours - 1.0).abs() < 0.001, "{hours}");

    // A weak password is refused before the link is used up.
    let (status, weak) = complete_reset(&mut forgetful, &token, "password1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&weak, "invalid_parameter")["field"], "password");

    let (status, me) = complete_reset(&mut forgetful, &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert!(forgetful.cookie.is_some() && forgetful.device.is_some());
    let (status, _) = forgetful.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "signed in by the reset");
    for older in [&mut first, &mut second] {
        let (status, _) = older.get("/api/v1/me").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "an older session survived"
        );
    }
    let (_, sessions) = forgetful.get("/api/v1/sessions").await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    let with_key = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("a request");
    assert_eq!(
        with_key.status(),
        StatusCode::UNAUTHORIZED,
        "keys end with a reset"
    );

    // Once only; the old password is gone, the new one works.
    let (status, again) = complete_reset(
        &mut Browser::new(&app),
        &token,
        "yet another fine passphrase",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&again, "invalid_parameter")["field"], "token");
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let notices = queued(&app, "ada@example.com").await;
    assert!(
        notices
            .iter()
            .any(|m| m["subject"] == "Your Agentdeck password was changed"),
        "{notices:?}"
    );
    let actions = audit_actions(&app).await;
    for action in ["user.password_reset_request", "user.password_reset"] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action}: {actions:?}"
        );
    }

    // A link an hour old is dead.
    let (status, _) = Browser::new(&app)
        .post(
            "/api/v1/auth/password-reset",
            json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let late = loop {
        let newest = wait_for_token(&app, "ada@example.com", "reset-password").await;
        if newest != token {
            break newest;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    age_tokens(&app, "ada@example.com", "reset_password", 61).await;
    let (status, expired) = complete_reset(
        &mut Browser::new(&app),
        &late,
        "yet another fine passphrase",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{expired}");
}

#[tokio::test]
async fn a_reset_request_answers_an_unknown_address_exactly_as_a_known_one() {
    use server::rate_limit::{Budget, LimitSettings};
    let app = TestApp::builder()
        .limits(LimitSettings {
            mail_per_ip: Budget {
                requests: 10,
                window: Duration::from_secs(3600),
            },
            ..LimitSettings::default()
        })
        .workers()
        .spawn()
        .await;
    let _ = account(&app, "known@example.com").await;
    let answer = |email: &'static str| {
        let app = &app;
        async move {
            let response = Browser::new(app)
                .send(
                    reqwest::Method::POST,
                    "/api/v1/auth/password-reset",
                    Some(json!({ "email": email })),
                )
                .await;
            let status = response.status();
            let content_type = response.headers()["content-type"].clone();
            let cookies = crate::support::browser::set_cookies(&response);
            (
                status,
                content_type,
                cookies,
                response.text().await.expect("a body"),
            )
        }
    };
    for _ in 0..5 {
        let known = answer("known@example.com").await;
        let unknown = answer("nobody@example.com").await;
        assert_eq!(known.0, StatusCode::ACCEPTED);
        assert_eq!(known, unknown);
    }
    // The limit is per requesting address, whichever address is asked for.
    let known = answer("known@example.com").await;
    let unknown = answer("nobody@example.com").await;
    assert_eq!(known.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(known.0, unknown.0);
    let without_id = |text: &str| {
        let mut body: Value = serde_json::from_str(text).expect("json");
        body["error"]["request_id"] = Value::Null;
        body
    };
    assert_eq!(without_id(&known.3), without_id(&unknown.3));

    // Through the SPA's function too (on another server: this address has
    // used its budget here).
    let app = TestApp::builder().workers().spawn().await;
    let _ = account(&app, "known@example.com").await;
    let mut browser = Browser::new(&app);
    let known = crate::support::server_fn::post(
        &mut browser,
        "request_password_reset",
        json!({ "request": { "email": "known2@example.com" } }),
    )
    .await;
    let unknown = crate::support::server_fn::post(
        &mut browser,
        "request_password_reset",
        json!({ "request": { "email": "nobody2@example.com" } }),
    )
    .await;
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known, unknown);

    // Only the known address gets mail (once the jobs ran).
    for email in ["known@example.com", "nobody@example.com"] {
        let (status, _) = Browser::new(&app)
            .post("/api/v1/auth/password-reset", json!({ "email": email }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let _ = wait_for_token(&app, "known@example.com", "reset-password").await;
    for _ in 0..100 {
        if jobs_left(&app, "auth.password_reset").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(jobs_left(&app, "auth.password_reset").await, 0);
    assert!(queued(&app, "nobody@example.com").await.is_empty());
    assert!(queued(&app, "nobody2@example.com").await.is_empty());

    // A malformed address is a field error, for known and unknown alike.
    let (status, body) = Browser::new(&app)
        .post(
            "/api/v1/auth/password-reset",
            json!({ "email": "not an address" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "email");
}

async fn jobs_left(app: &TestApp, kind: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM jobs WHERE kind = $1 AND state <> 'dead'")
        .bind::<Text, _>(kind)
        .get_result::<Count>(&mut app.sql().await)
        .await
        .expect("counting jobs")
        .n
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let mut here = account(&app, "ada@example.com").await;
    let (mut there, _, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;

    let (status, wrong) = here
        .post(
            "/api/v1/me/password",
            json!({ "current_password": "not my password", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_of(&wrong, "invalid_parameter")["field"],
        "current_password"
    );
    let (status, weak) = here
        .post(
            "/api/v1/me/password",
            json!({ "current_password": STRONG_PASSWORD, "new_password": "ada12345678" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_of(&weak, "invalid_parameter")["field"],
        "new_password"
    );

    let (status, _) = here
        .post(
            "/api/v1/me/password",
            json!({ "current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = here.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "this session stays");
    let (status, _) = there.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the other one ended");
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"user.password_change".to_owned())
    );

    // An API key cannot change it.
    let (_, key) = here
        .post(
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read"] }),
        )
        .await;
    let response = app
        .http
        .post(app.url("/api/v1/me/password"))
        .bearer_auth(key["token"].as_str().expect("token"))
        .json(&json!({ "current_password": NEW_PASSWORD, "new_password": STRONG_PASSWORD }))
        .send()
        .await
        .expect("a request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn changing_the_address_waits_for_the_new_one_and_tells_the_old_one() {
    let app = TestApp::spawn().await;
    let mut ada = account(&app, "ada@example.com").await;
    let _ = account(&app, "taken@example.com").await;

    let (status, body) = ada
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "ada@new.example" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the password is needed"
    );
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "password");
    // Another account's address: the same answer, and no mail (the answer
    // must not tell who has an account; the link could not move it there).
    let (status, body) = ada
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "taken@example.com", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({ "to": "taken@example.com" }));
    let to_taken = queued(&app, "taken@example.com").await;
    assert!(
        to_taken
            .iter()
            .all(|m| m["subject"] != "Confirm your new email address for Agentdeck"),
        "{to_taken:?}"
    );
    let (status, wrong) = ada
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "ada@new.example", "password": "not my password" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&wrong, "invalid_parameter")["field"], "password");

    let (status, sent) = ada
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "Ada@New.Example", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent, json!({ "to": "ada@new.example" }));
    let (_, me) = ada.get("/api/v1/me").await;
    assert_eq!(
        me["user"]["email"], "ada@example.com",
        "nothing moves before the link"
    );
    assert_eq!(me["user"]["pending_email"], "ada@new.example");

    let token = link_token(&app, "ada@new.example", "verify-email").await;
    let (status, verified) = verify(&mut Browser::new(&app), &token).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(
        verified,
        json!({ "email": "ada@new.example", "changed": true })
    );
    let (_, me) = ada.get("/api/v1/me").await;
    assert_eq!(me["user"]["email"], "ada@new.example");
    assert_eq!(me["user"]["email_verified"], true);
    assert!(me["user"].get("pending_email").is_none(), "{me}");
    let notice: Vec<Value> = queued(&app, "ada@example.com").await;
    let notice = notice
        .iter()
        .find(|m| m["subject"] == "Your Agentdeck email address was changed")
        .expect("a notice to the old address");
    assert!(
        notice["text"]
            .as_str()
            .expect("text")
            .contains("ada@new.example")
    );
    let (_, status, _) = Browser::sign_in(&app, "ada@new.example", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"user.email_change".to_owned())
    );
}

/// A real SMTP server from PyPI (aiosmtpd) that keeps what it receives in
/// a Maildir; ended when dropped.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> Self {
        let python =
            std::env::var("AGENTDECK_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let port = crate::process::free_port();
        let maildir = tempfile::tempdir().expect("a maildir");
        for part in ["new", "cur", "tmp"] {
            std::fs::create_dir(maildir.path().join(part)).expect("a maildir folder");
        }
        let mut child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting aiosmtpd with {python} (the test command installs it): {e}")
            });
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    child,
                    port,
                    maildir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not listen on {port}; is it installed for {python}?");
    }

    /// The messages received so far, raw.
    fn received(&self) -> Vec<String> {
        ["new", "cur"]
            .iter()
            .filter_map(|dir| std::fs::read_dir(self.maildir.path().join(dir)).ok())
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn mail_goes_over_smtp_to_a_real_server_and_its_link_verifies() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .mail(service::mail::Delivery::Smtp(format!(
            "smtp://127.0.0.1:{}",
            smtp.port
        )))
        .workers()
        .spawn()
        .await;
    let (mut ada, _) = Browser::sign_up_unverified(&app, "ada@example.com", "Ada <Lovelace>").await;
    let raw = 'received: {
        for _ in 0..300 {
            if let Some(raw) = smtp.received().into_iter().next() {
                break 'received raw;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail reached the SMTP server");
    };
    assert!(
        raw.contains("From: Agentdeck <noreply@agentdeck.test>"),
        "{raw}"
    );
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/html"), "{raw}");
    let message = service::mail::outbox::parse(&raw);
    assert_eq!(message.to, "ada@example.com");
    assert_eq!(message.subject, "Verify your email address for Agentdeck");
    assert!(message.text.starts_with("Hello,\n"), "{}", message.text);
    assert!(
        !message.text.contains("Lovelace"),
        "no name in mail to an unproven address: {}",
        message.text
    );
    let token = token_in(&message.text, "verify-email").expect("a link");
    let (status, _) = verify(&mut ada, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        jobs_left(&app, "mail.send").await,
        0,
        "the sent job is gone"
    );
}

#[tokio::test]
async fn mail_to_an_unreachable_smtp_server_is_retried_not_lost() {
    let port = crate::process::free_port();
    let app = TestApp::builder()
        .mail(service::mail::Delivery::Smtp(format!(
            "smtp://127.0.0.1:{port}"
        )))
        .workers()
        .spawn()
        .await;
    let _ = Browser::sign_up_unverified(&app, "ada@example.com", "Ada").await;
    #[derive(diesel::QueryableByName)]
    struct Attempt {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        last_error: Option<String>,
    }
    for _ in 0..300 {
        let job: Attempt = diesel::sql_query(
            "SELECT state, attempts, last_error FROM jobs WHERE kind = 'mail.send'",
        )
        .get_result(&mut app.sql().await)
        .await
        .expect("the mail job");
        if let Some(error) = job.last_error {
            assert_eq!(job.state, "queued", "retried later, not dead: {error}");
            assert!(job.attempts >= 1);
            assert!(error.contains("SMTP"), "{error}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the mail job was never tried");
}

#[tokio::test]
async fn without_smtp_mail_lands_in_the_outbox_administrators_read() {
    let outbox = tempfile::tempdir().expect("an outbox");
    let app = TestApp::builder()
        .mail(service::mail::Delivery::Outbox(outbox.path().to_owned()))
        .workers()
        .spawn()
        .await;
    let (mut root, me) = Browser::sign_up_unverified(&app, "root@example.com", "Root").await;
    let (mut other, _) = Browser::sign_up_unverified(&app, "other@example.com", "Other").await;
    diesel::sql_query("UPDATE users SET is_admin = true WHERE id = $1::uuid")
        .bind::<Text, _>(me["user"]["id"].as_str().expect("id"))
        .execute(&mut app.sql().await)
        .await
        .expect("making an administrator");
    let mails = 'written: {
        for _ in 0..300 {
            let (status, mails) = root.get("/api/v1/admin/outbox").await;
            assert_eq!(status, StatusCode::OK, "{mails}");
            if mails.as_array().is_some_and(|m| m.len() == 2) {
                break 'written mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the outbox did not fill");
    };
    let to_root = mails
        .as_array()
        .expect("a list")
        .iter()
        .find(|m| m["to"] == "root@example.com")
        .expect("root's mail");
    assert_eq!(
        to_root["subject"],
        "Verify your email address for Agentdeck"
    );
    let token = token_in(to_root["text"].as_str().expect("text"), "verify-email").expect("a link");
    let (status, _) = verify(&mut root, &token).await;
    assert_eq!(status, StatusCode::OK);
    let files = std::fs::read_dir(outbox.path())
        .expect("the outbox")
        .count();
    assert_eq!(files, 2, "one file per message");

    let (status, refused) = other.get("/api/v1/admin/outbox").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

/// A stranger asking for resets of the owner's address sends the owner at
/// most one link every two minutes, and never replaces the link the owner
/// is reading: every link mailed stays valid until one is used.
#[tokio::test]
async fn a_strangers_reset_requests_never_replace_the_owners_link() {
    let app = TestApp::builder().workers().spawn().await;
    let _ = account(&app, "ada@example.com").await;
    let reset_mails = || async {
        queued(&app, "ada@example.com")
            .await
            .into_iter()
            .filter(|m| m["subject"] == "Reset your Agentdeck password")
            .count()
    };
    let ask = || async {
        let (status, _) = Browser::new(&app)
            .post(
                "/api/v1/auth/password-reset",
                json!({ "email": "ada@example.com" }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    };
    ask().await;
    let first = wait_for_token(&app, "ada@example.com", "reset-password").await;
    for _ in 0..5 {
        ask().await;
    }
    for _ in 0..50 {
        if jobs_left(&app, "auth.password_reset").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reset_mails().await, 1, "one link per two minutes");

    // Two minutes on, another request mails another link; the first works.
    age_tokens(&app, "ada@example.com", "reset_password", 3).await;
    ask().await;
    let second = loop {
        let newest = wait_for_token(&app, "ada@example.com", "reset-password").await;
        if newest != first {
            break newest;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (status, me) = complete_reset(&mut Browser::new(&app), &first, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, _) = complete_reset(
        &mut Browser::new(&app),
        &second,
        "yet another fine passphrase",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "using one ends them all"
    );
}
