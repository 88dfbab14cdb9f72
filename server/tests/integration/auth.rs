//! Sign-up, sign-in, sign-out, sessions and CSRF over real HTTP.

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::browser::{Browser, STRONG_PASSWORD, set_cookie};
use crate::support::{TestApp, error_of};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let mut conn = app.sql().await;
    diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE action = $1")
        .bind::<Text, _>(action)
        .get_result::<Count>(&mut conn)
        .await
        .expect("counting audit events")
        .n
}

#[tokio::test]
async fn sign_up_creates_the_account_its_workspace_and_a_session() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let response = browser
        .send(Method::POST,
            "/api/v1/auth/signup",
            Some(json!({ "email": " Ada@Example.com ", "password": STRONG_PASSWORD, "name": "Ada Lovelace" })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = set_cookie(&response).expect("a session cookie");
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(
        attributes[0].starts_with("agentdeck_session=") && attributes[0].len() > 40,
        "{cookie}"
    );
    for expected in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing: {cookie}"
        );
    }
    assert!(
        !attributes.contains(&"Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let (status, me) = browser.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["user"]["handle"], "ada");
    assert_eq!(me["user"]["display_name"], "Ada Lovelace");
    assert_eq!(me["user"]["has_password"], true);
    assert_eq!(me["workspaces"][0]["personal"], true);
    assert_eq!(me["workspaces"][0]["role"], "owner");
    assert!(me["csrf_token"].as_str().is_some_and(|t| t.len() >= 32));
    assert_eq!(audit_count(&app, "user.signup").await, 1);

    // A second account with the same local part gets another handle.
    let (_, other) = Browser::sign_up(&app, "ada@another.example", "Ada Two").await;
    assert_ne!(other["user"]["handle"], "ada");
}

#[tokio::test]
async fn sign_up_names_what_is_wrong_and_stores_nothing() {
    let app = TestApp::spawn().await;
    Browser::sign_up(&app, "taken@example.com", "Taken").await;
    let cases = [
        (
            json!({ "email": "nope", "password": STRONG_PASSWORD, "name": "A" }),
            422,
            "email",
        ),
        (
            json!({ "email": "b@example.com", "password": "password123", "name": "B" }),
            422,
            "password",
        ),
        (
            json!({ "email": "b@example.com", "password": "short", "name": "B" }),
            422,
            "password",
        ),
        (
            json!({ "email": "b@example.com", "password": STRONG_PASSWORD, "name": "  " }),
            422,
            "name",
        ),
        (json!({ "email": "b@example.com" }), 422, "body"),
        (
            json!({ "email": "TAKEN@example.com", "password": STRONG_PASSWORD, "name": "T" }),
            409,
            "email",
        ),
    ];
    for (body, status, field) in cases {
        let (actual, error) = Browser::new(&app)
            .post("/api/v1/auth/signup", body.clone())
            .await;
        assert_eq!(actual.as_u16(), status, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(audit_count(&app, "user.signup").await, 1);
}

#[tokio::test]
async fn sign_in_renews_the_session_and_wrong_credentials_say_nothing_more() {
    let app = TestApp::spawn().await;
    let (mut first, _) = Browser::sign_up(&app, "grace@example.com", "Grace Hopper").await;
    let old_cookie = first.cookie.clone().expect("cookie");

    let (_, status, wrong_password) =
        Browser::sign_in(&app, "grace@example.com", "not the password at all").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status, no_account) =
        Browser::sign_in(&app, "nobody@example.com", "not the password at all").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_of(&wrong_password, "invalid_credentials")["message"],
        error_of(&no_account, "invalid_credentials")["message"]
    );
    assert_eq!(audit_count(&app, "session.login_failed").await, 2);

    // Signing in from a browser that already has a session replaces it.
    let (status, _) = first
        .post(
            "/api/v1/auth/login",
            json!({ "email": "GRACE@example.com", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_cookie = first.cookie.clone().expect("cookie");
    assert_ne!(
        new_cookie, old_cookie,
        "the session id must change at sign-in"
    );
    let mut stale = Browser {
        cookie: Some(old_cookie),
        device: None,
        ..Browser::new(&app)
    };
    let (status, _) = stale.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = first.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit_count(&app, "session.login").await, 1);
}

#[tokio::test]
async fn cookie_mutations_need_the_csrf_token_and_this_origin() {
    let app = TestApp::spawn().await;
    let (browser, _) = Browser::sign_up(&app, "csrf@example.com", "C S").await;
    let cookie = browser.cookie.clone().expect("cookie");
    let csrf = browser.csrf.clone().expect("csrf");

    let attempts = [
        ("no token", None, Some(app.base_url.clone())),
        (
            "wrong token",
            Some("x".repeat(43)),
            Some(app.base_url.clone()),
        ),
        (
            "foreign origin",
            Some(csrf.clone()),
            Some("https://evil.example".to_owned()),
        ),
    ];
    for (what, token, origin) in attempts {
        let mut request = app
            .http
            .post(app.url("/api/v1/auth/logout"))
            .header("cookie", &cookie);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let (status, body) = crate::support::json_of(request.send().await.expect("POST")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        error_of(&body, "forbidden");
    }
    // Still signed in; with everything right, sign-out works.
    let mut browser = browser;
    let (status, _) = browser.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let response = browser
        .send(Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie(&response).is_some_and(|c| c.contains("Max-Age=0")));
    let mut old = Browser {
        cookie: Some(cookie),
        device: None,
        csrf: Some(csrf),
        ..Browser::new(&app)
    };
    let (status, body) = old.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(audit_count(&app, "session.logout").await, 1);
}

#[tokio::test]
async fn sessions_are_listed_and_others_can_be_signed_out() {
    let app = TestApp::spawn().await;
    let (mut laptop, _) = Browser::sign_up(&app, "multi@example.com", "Multi").await;
    let (mut phone, status, _) = Browser::sign_in(&app, "multi@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = laptop.get("/api/v1/sessions").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().expect("a list").clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list.iter().all(|s| s["ip"] == "127.0.0.1"), "{list:?}");

    let (status, ended) = laptop.post_empty("/api/v1/sessions/revoke-others").await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["ended"], 1);
    let (status, _) = phone.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = laptop.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn idle_and_absolute_expiry_end_sessions() {
    let app = TestApp::spawn().await;
    let (mut idle, _) = Browser::sign_up(&app, "idle@example.com", "Idle").await;
    let (mut old, status, _) = Browser::sign_in(&app, "idle@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let mut conn = app.sql().await;
    // Move the clock of each session instead of waiting.
    let (_, idle_me) = idle.get("/api/v1/sessions").await;
    let idle_id = idle_me
        .as_array()
        .and_then(|l| l.iter().find(|s| s["current"] == true))
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .expect("the current session");
    diesel::sql_query(
        "UPDATE sessions SET last_seen_at = now() - interval '8 days' WHERE id = $1::uuid",
    )
    .bind::<Text, _>(&idle_id)
    .execute(&mut conn)
    .await
    .expect("ageing the session");
    diesel::sql_query(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id <> $1::uuid",
    )
    .bind::<Text, _>(&idle_id)
    .execute(&mut conn)
    .await
    .expect("expiring the session");
    let (status, _) = idle.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idle too long");
    let (status, _) = old.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "past its absolute expiry");
}

#[tokio::test]
async fn anonymous_callers_get_401_for_account_routes() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/sessions"),
        (Method::POST, "/api/v1/sessions/revoke-others"),
        (Method::POST, "/api/v1/auth/logout"),
    ] {
        let (status, body) = Browser::new(&app).json(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        error_of(&body, "unauthenticated");
    }
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed() {
    let app = TestApp::spawn().await;
    Browser::sign_up(&app, "audit@example.com", "Audit").await;
    let mut conn = app.sql().await;
    for statement in [
        "UPDATE audit_events SET action = 'user.nothing'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let error = diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(audit_count(&app, "user.signup").await, 1);
}

#[tokio::test]
async fn purging_removes_long_dead_sessions_and_expired_flows_only() {
    let app = TestApp::spawn().await;
    let (mut alive, _) = Browser::sign_up(&app, "keep@example.com", "Keep").await;
    let (old, _, _) = Browser::sign_in(&app, "keep@example.com", STRONG_PASSWORD).await;
    let (revoked, _, _) = Browser::sign_in(&app, "keep@example.com", STRONG_PASSWORD).await;
    let (just_expired, _, _) = Browser::sign_in(&app, "keep@example.com", STRONG_PASSWORD).await;
    let _ = (old, revoked, just_expired);
    let mut conn = app.sql().await;
    let statements = [
        // Three sessions besides the live one: expired 8 days ago, revoked
        // 8 days ago, expired a minute ago (kept for now).
        "UPDATE sessions SET expires_at = now() - interval '8 days' WHERE id = (
             SELECT id FROM sessions ORDER BY created_at OFFSET 1 LIMIT 1)",
        "UPDATE sessions SET revoked_at = now() - interval '8 days' WHERE id = (
             SELECT id FROM sessions ORDER BY created_at OFFSET 2 LIMIT 1)",
        "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = (
             SELECT id FROM sessions ORDER BY created_at OFFSET 3 LIMIT 1)",
        "INSERT INTO oauth_flows (browser_hash, provider, state, pkce_verifier, expires_at)
         VALUES (sha256('a'), 'github', repeat('s', 22), repeat('v', 43), now() - interval '1 second'),
                (sha256('b'), 'github', repeat('s', 22), repeat('v', 43), now() + interval '5 minutes')",
    ];
    for statement in statements {
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("preparing rows");
    }
    let pool = server::db::pool(app.db.url(), 1).expect("pool");
    let services = service::Services::new(pool);
    let purged = service::auth::sessions::purge(&services)
        .await
        .expect("purging");
    assert_eq!(purged, (2, 1));
    let left: Count = diesel::sql_query("SELECT count(*) AS n FROM sessions")
        .get_result(&mut conn)
        .await
        .expect("counting");
    assert_eq!(left.n, 2);
    let (status, _) = alive.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "the live session survives");
    let again = service::auth::sessions::purge(&services)
        .await
        .expect("purging again");
    assert_eq!(again, (0, 0));
}
