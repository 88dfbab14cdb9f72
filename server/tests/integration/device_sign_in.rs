//! Device sign-in (`agentdeck login` through the browser, RFC 8628) as an
//! attacker meets it: polling codes that are unknown, denied, used or
//! expired; polling too fast; approving with scopes the device did not
//! ask for, in someone else's workspace, twice, with a key, or without
//! signing in; walking the user-code space; flooding starts. And keys that
//! manage keys (`keys:write`): never more scopes, a later expiry, another
//! workspace, or a way around a spend cap.

use chrono::{TimeDelta, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, error_of, json_of};

async fn start(app: &TestApp, scopes: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/api/v1/device/code"))
        .json(&json!({ "client_name": "a terminal", "scopes": scopes }))
        .send()
        .await
        .expect("POST /device/code");
    json_of(response).await
}

async fn poll(app: &TestApp, device_code: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/api/v1/device/token"))
        .json(&json!({ "device_code": device_code }))
        .send()
        .await
        .expect("POST /device/token");
    json_of(response).await
}

async fn decide(browser: &mut Browser, decision: Value) -> (StatusCode, Value) {
    browser
        .post("/api/fn/decide_device", json!({ "decision": decision }))
        .await
}

/// The first poll after `interval`: taken back by moving `polled_at`.
async fn forget_last_poll(app: &TestApp, user_code: &str) {
    use service::schema::device_grants;
    let mut conn = app.sql().await;
    diesel::update(device_grants::table)
        .filter(device_grants::user_code.eq(user_code.replace('-', "")))
        .set(device_grants::polled_at.eq(Utc::now() - TimeDelta::minutes(1)))
        .execute(&mut conn)
        .await
        .expect("moving the last poll back");
}

async fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("a request with a key");
    if response.status() == StatusCode::NO_CONTENT {
        return (StatusCode::NO_CONTENT, Value::Null);
    }
    json_of(response).await
}

#[tokio::test]
async fn a_code_is_approved_once_and_polled_to_a_key_once() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (status, started) = start(&app, json!(["agents:read", "runs:read"])).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let device_code = started["device_code"].as_str().expect("device code");
    let user_code = started["user_code"].as_str().expect("user code").to_owned();
    assert!(device_code.starts_with("adkd_") && device_code.len() > 40);
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 600);
    assert_eq!(
        started["verification_uri"],
        format!("{}/device", app.base_url)
    );

    // Pending; a second poll at once is told to wait longer (slow_down).
    let (status, first) = poll(&app, device_code).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first, json!({ "status": "pending", "interval": 5 }));
    let (_, hasty) = poll(&app, device_code).await;
    assert_eq!(hasty["interval"], 10, "{hasty}");

    // Scopes it did not ask for are refused; nothing changes.
    let (status, refused) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": true, "scopes": ["agents:read", "runs:write"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["field"], "scopes", "{refused}");
    let (status, none) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": true, "scopes": [] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{none}");

    let (status, approved) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": true, "scopes": ["runs:read"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    // Its owner hears of it, whoever clicked.
    let mails = crate::support::mail::queued(&app, "ada@example.com").await;
    let notice = mails
        .iter()
        .find(|mail| mail["subject"] == "A device was signed in to your Agentdeck account")
        .unwrap_or_else(|| panic!("no notice among {mails:?}"));
    let text = notice["text"].as_str().expect("text");
    assert!(
        text.contains("“a terminal”") && text.contains("127.0.0.1") && text.contains("runs:read"),
        "{text}"
    );
    assert!(text.contains("/settings/keys"), "{text}");
    assert!(
        text.contains("which asked from 127.0.0.1, was just approved") && !text.contains("  "),
        "one space between words: {text:?}"
    );
    let (status, again) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": false }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once: {again}");

    forget_last_poll(&app, &user_code).await;
    let (status, taken) = poll(&app, device_code).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["status"], "approved");
    assert_eq!(taken["key"]["key"]["scopes"], json!(["runs:read"]));
    assert_eq!(
        taken["key"]["key"]["name"],
        "a terminal (device sign-in from 127.0.0.1)"
    );
    let token = taken["key"]["token"].as_str().expect("token");
    let (status, me) = with_key(&app, Method::GET, "/api/v1/me", token, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "ada@example.com");

    // Once decided, the code shows to its decider only.
    let (mut stranger, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (status, _) = stranger
        .post("/api/fn/device_request", json!({ "code": user_code }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, mine) = ada
        .post("/api/fn/device_request", json!({ "code": user_code }))
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["status"], "used");
    assert_eq!(mine["from_your_address"], true);

    // Once only: the code is spent.
    let (status, spent) = poll(&app, device_code).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{spent}");
    error_of(&spent, "not_found");

    // The approval and the key are in the audit log.
    let mut conn = app.sql().await;
    let actions: Vec<String> = service::schema::audit_events::table
        .select(service::schema::audit_events::action)
        .order(service::schema::audit_events::id)
        .load(&mut conn)
        .await
        .expect("audit");
    let approve = actions
        .iter()
        .position(|action| action == "device_sign_in.approve");
    let created = actions
        .iter()
        .rposition(|action| action == "api_key.create");
    assert!(approve.is_some() && created > approve, "{actions:?}");
}

#[tokio::test]
async fn denied_expired_and_unknown_codes_give_no_key() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;

    let (_, started) = start(&app, json!(["agents:read"])).await;
    let device_code = started["device_code"].as_str().expect("device code");
    let (status, denied) = decide(
        &mut ada,
        json!({ "user_code": started["user_code"], "approve": false }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{denied}");
    assert_eq!(denied["status"], "denied");
    let (status, refused) = poll(&app, device_code).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    let (_, started) = start(&app, json!(["agents:read"])).await;
    let device_code = started["device_code"].as_str().expect("device code");
    let user_code = started["user_code"]
        .as_str()
        .expect("user code")
        .replace('-', "");
    {
        use service::schema::device_grants;
        let mut conn = app.sql().await;
        diesel::update(device_grants::table)
            .filter(device_grants::user_code.eq(&user_code))
            .set(device_grants::expires_at.eq(Utc::now() - TimeDelta::seconds(1)))
            .execute(&mut conn)
            .await
            .expect("expiring the grant");
    }
    let (status, _) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": true, "scopes": ["agents:read"] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an expired code cannot be approved"
    );
    let (status, _) = poll(&app, device_code).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for code in ["adkd_made-up", "not even the shape", &"adkd_x".repeat(40)] {
        let (status, body) = poll(&app, code).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{code}: {body}");
    }
    // Bad starts name the field.
    let (status, body) = start(&app, json!([])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "scopes");
    let response = app
        .http
        .post(app.url("/api/v1/device/code"))
        .json(&json!({ "client_name": "x".repeat(61), "scopes": ["agents:read"] }))
        .send()
        .await
        .expect("POST");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "client_name");
}

#[tokio::test]
async fn only_a_signed_in_person_approves_and_only_into_their_workspaces() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (mut mallory, _) = Browser::sign_up(&app, "mallory@example.com", "Mallory").await;
    let (status, team) = ada
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].clone();
    let (_, started) = start(&app, json!(["agents:read"])).await;
    let user_code = started["user_code"].clone();

    // Nobody signed in, and API keys, may not look or decide.
    let anonymous = app
        .http
        .post(app.url("/api/fn/device_request"))
        .header("origin", &app.base_url)
        .json(&json!({ "code": user_code }))
        .send()
        .await
        .expect("POST");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (_, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read", "keys:write"] }),
        )
        .await;
    let token = key["token"].as_str().expect("token");
    let (status, body) = with_key(
        &app,
        Method::POST,
        "/api/fn/decide_device",
        token,
        Some(json!({ "decision": { "user_code": user_code, "approve": true, "scopes": ["agents:read"] } })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Mallory may not put the device in Ada's team.
    let (status, body) = decide(
        &mut mallory,
        json!({ "user_code": user_code, "approve": true, "scopes": ["agents:read"], "workspace": team_id }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Ada may.
    let (status, body) = decide(
        &mut ada,
        json!({ "user_code": user_code, "approve": true, "scopes": ["agents:read"], "workspace": team_id }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, taken) = poll(&app, started["device_code"].as_str().expect("code")).await;
    assert_eq!(taken["key"]["key"]["workspace"], team_id);
}

#[tokio::test]
async fn walking_the_code_space_and_flooding_starts_are_stopped() {
    let limits = server::rate_limit::LimitSettings {
        device_per_ip: server::rate_limit::Budget {
            requests: 3,
            window: std::time::Duration::from_secs(3600),
        },
        ..Default::default()
    };
    let app = TestApp::builder().limits(limits).spawn().await;
    let (mut mallory, _) = Browser::sign_up(&app, "mallory@example.com", "Mallory").await;
    for _ in 0..3 {
        let (status, body) = start(&app, json!(["agents:read"])).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = start(&app, json!(["agents:read"])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    // Twenty wrong codes, then even a right one waits.
    let mut refused = None;
    for n in 0..25 {
        let letter = char::from(b"BCDFGHJKLMNPQRSTVWXZ"[n % 20]);
        let guess = format!("{}-GHJ{letter}", if n < 20 { "BCDF" } else { "ZZZZ" });
        let (status, body) = mallory
            .post("/api/fn/device_request", json!({ "code": guess }))
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(n);
            break;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{guess}: {body}");
    }
    assert_eq!(refused, Some(20), "the 21st guess waits");
}

#[tokio::test]
async fn a_key_makes_keys_only_within_itself() {
    let app = TestApp::spawn().await;
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (_, team) = ada
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    let team_id = team["id"].clone();
    let (status, manager) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "manager", "scopes": ["agents:read", "keys:write"], "expires_in_days": 7 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manager}");
    let manager_token = manager["token"].as_str().expect("token");
    let (_, team_key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "team", "scopes": ["agents:read"], "workspace": team_id }),
        )
        .await;
    let make = |body: Value| {
        with_key(
            &app,
            Method::POST,
            "/api/v1/api-keys",
            manager_token,
            Some(body),
        )
    };

    // A scope it lacks, another workspace: refused.
    let (status, body) = make(json!({ "name": "more", "scopes": ["runs:write"] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        make(json!({ "name": "team", "scopes": ["agents:read"], "workspace": team_id })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Asked for a year, it expires with its maker.
    let (status, made) =
        make(json!({ "name": "child", "scopes": ["agents:read"], "expires_in_days": 365 })).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["key"]["expires_at"], manager["key"]["expires_at"]);
    assert_eq!(made["key"]["workspace"], me["workspaces"][0]["id"]);
    let (status, forever) = make(json!({ "name": "forever", "scopes": ["agents:read"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{forever}");
    assert_eq!(forever["key"]["expires_at"], manager["key"]["expires_at"]);

    // It sees and revokes its workspace's keys only.
    let (status, listed) =
        with_key(&app, Method::GET, "/api/v1/api-keys", manager_token, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let names: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key["name"].as_str())
        .collect();
    assert!(
        names.contains(&"child") && !names.contains(&"team"),
        "{names:?}"
    );
    let team_key_id = team_key["key"]["id"].as_str().expect("id");
    let (status, _) = with_key(
        &app,
        Method::DELETE,
        &format!("/api/v1/api-keys/{team_key_id}"),
        manager_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The spend cap stays a browser matter.
    let child_id = made["key"]["id"].as_str().expect("id");
    let (status, _) = with_key(
        &app,
        Method::PUT,
        &format!("/api/v1/api-keys/{child_id}/spend-cap"),
        manager_token,
        Some(json!({ "monthly_credits": null })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Nor is a key that made live keys capped later, around them.
    let manager_id = manager["key"]["id"].as_str().expect("id");
    let (status, body) = ada
        .put(
            &format!("/api/v1/api-keys/{manager_id}/spend-cap"),
            json!({ "monthly_credits": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "monthly_credits");

    // A capped key cannot mint uncapped ones around its cap.
    let (_, capped) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "capped", "scopes": ["runs:write", "keys:write"], "spend_cap_credits": 10 }),
        )
        .await;
    let (status, body) = with_key(
        &app,
        Method::POST,
        "/api/v1/api-keys",
        capped["token"].as_str().expect("token"),
        Some(json!({ "name": "uncapped", "scopes": ["runs:write"] })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A key may always revoke itself; a manager only itself and its own.
    let (_, plain) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "plain", "scopes": ["agents:read"] }),
        )
        .await;
    let plain_token = plain["token"].as_str().expect("token");
    let plain_id = plain["key"]["id"].as_str().expect("id");
    let (status, _) = with_key(
        &app,
        Method::DELETE,
        &format!("/api/v1/api-keys/{plain_id}"),
        manager_token,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a sibling is not the manager's"
    );
    let (status, _) = with_key(
        &app,
        Method::DELETE,
        &format!("/api/v1/api-keys/{plain_id}"),
        plain_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a key revokes itself");
    let (status, _) = with_key(&app, Method::GET, "/api/v1/me", plain_token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Keys it made, and theirs, go with it.
    let (status, middle) =
        make(json!({ "name": "middle", "scopes": ["agents:read", "keys:write"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{middle}");
    let (status, grandchild) = with_key(
        &app,
        Method::POST,
        "/api/v1/api-keys",
        middle["token"].as_str().expect("token"),
        Some(json!({ "name": "grandchild", "scopes": ["agents:read"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{grandchild}");
    let child_token = made["token"].as_str().expect("token");
    let (status, _) = ada
        .delete(&format!(
            "/api/v1/api-keys/{}",
            manager["key"]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [
        child_token,
        middle["token"].as_str().expect("token"),
        grandchild["token"].as_str().expect("token"),
    ] {
        let (status, _) = with_key(&app, Method::GET, "/api/v1/me", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Each has its own entry in the audit log.
    let grandchild_id = grandchild["key"]["id"].as_str().expect("id").to_owned();
    let mut conn = app.sql().await;
    let entries: Vec<String> = service::schema::audit_events::table
        .filter(service::schema::audit_events::target_id.eq(&grandchild_id))
        .select(service::schema::audit_events::action)
        .load(&mut conn)
        .await
        .expect("audit");
    assert_eq!(entries, ["api_key.create", "api_key.revoke"]);
}

/// A key revoked while it is making keys leaves none alive: each making
/// either ends before the revocation (and is revoked with it) or after
/// (and is refused).
#[tokio::test]
async fn revoking_a_key_while_it_makes_keys_leaves_none_alive() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (_, manager) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "manager", "scopes": ["agents:read", "keys:write"] }),
        )
        .await;
    let token = manager["token"].as_str().expect("token").to_owned();
    let id = manager["key"]["id"].as_str().expect("id").to_owned();
    let makers = (0..16).map(|n| {
        let request = app
            .http
            .post(app.url("/api/v1/api-keys"))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("made {n}"), "scopes": ["agents:read"] }));
        async move { request.send().await.expect("POST").status() }
    });
    let revoke = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ada.delete(&format!("/api/v1/api-keys/{id}")).await.0
    };
    let (statuses, revoked) = tokio::join!(futures::future::join_all(makers), revoke);
    assert_eq!(revoked, StatusCode::NO_CONTENT);
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::CREATED || *status == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let mut conn = app.sql().await;
    let alive: i64 = service::schema::api_keys::table
        .filter(
            service::schema::api_keys::made_by_key_id.eq(uuid::Uuid::parse_str(&id).expect("uuid")),
        )
        .filter(service::schema::api_keys::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .await
        .expect("counting");
    assert_eq!(alive, 0, "statuses: {statuses:?}");
}
