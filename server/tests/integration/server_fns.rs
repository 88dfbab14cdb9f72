//! The SPA's server functions over real HTTP, answering as the REST API does
//! because both call the same service.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::server_fn::{post, read, same_error};

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

/// The editor's functions, in the order the editor calls them, each
/// answering what its REST twin answers.
#[tokio::test]
async fn the_editor_works_through_server_functions() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = post(
        &mut ada,
        "create_agent",
        json!({ "request": { "name": "Notes" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    let rest = format!("/api/v1/agents/{slug}");

    let (status, draft) = read(&mut ada, "get_draft", &format!("slug={slug}")).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let (_, from_rest) = ada.get(&format!("{rest}/draft")).await;
    assert_eq!(draft, from_rest);

    // Saved over its revision; a second save over the same one is refused,
    // as the REST API refuses it.
    let mut changes = json!({});
    for key in [
        "revision",
        "listing",
        "readme",
        "source",
        "manifest",
        "example_input",
    ] {
        changes[key] = draft[key].clone();
    }
    changes["readme"] = json!("# Notes\n\nKeeps notes.");
    let (status, saved) = post(
        &mut ada,
        "save_draft",
        json!({ "slug": slug, "changes": changes }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["revision"],
        draft["revision"].as_i64().unwrap_or(0) + 1
    );
    let (status, stale) = post(
        &mut ada,
        "save_draft",
        json!({ "slug": slug, "changes": changes }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (_, from_rest) = ada.put(&format!("{rest}/draft"), changes).await;
    same_error(&stale, &from_rest, "conflict");

    let (status, report) = post(
        &mut ada,
        "test_run",
        json!({ "slug": slug, "request": {
            "source": draft["source"], "manifest": draft["manifest"],
            "input": draft["example_input"],
        } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["error"].is_null(), "{report}");

    let (status, version) = post(
        &mut ada,
        "publish_version",
        json!({ "slug": slug, "request": { "version": "1.0.0", "changelog": "First" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    let query = format!("slug={slug}&version=1.0.0");
    let (status, shown) = read(&mut ada, "get_version", &query).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let (_, from_rest) = ada.get(&format!("{rest}/versions/1.0.0")).await;
    assert_eq!(shown, from_rest);

    let (status, page) = post(
        &mut ada,
        "change_agent_settings",
        json!({ "slug": slug, "settings": { "visibility": "unlisted" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, from_rest) = ada.get(&rest).await;
    assert_eq!(page, from_rest);
    assert_eq!(page["visibility"], "unlisted", "{page}");

    let (status, html) = post(&mut ada, "render_markdown", json!({ "text": "# Hi" })).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.as_str().is_some_and(|h| h.contains("<h1>Hi</h1>")),
        "{html}"
    );
    let long = "x".repeat(service::markdown::MAX_PREVIEW_CHARS + 1);
    let (status, refused) = post(&mut ada, "render_markdown", json!({ "text": long })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (_, from_rest) = ada.post("/api/v1/markdown", json!({ "text": long })).await;
    same_error(&refused, &from_rest, "invalid_parameter");
}

/// A team's life through the teams page's functions: made, someone
/// invited and joining, given a role, leaving; the audit log as REST
/// shows it.
#[tokio::test]
async fn a_team_works_through_server_functions() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, bob_me) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let (status, team) = post(
        &mut ada,
        "create_team",
        json!({ "request": { "name": "Growth" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let slug = team["slug"].as_str().expect("slug").to_owned();

    let invite =
        json!({ "slug": slug, "request": { "email": "bob@example.com", "role": "member" } });
    let (status, invited) = post(&mut ada, "create_invite", invite).await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let token = invited["link"]
        .as_str()
        .and_then(|link| link.rsplit('/').next())
        .expect("a link")
        .to_owned();
    let (status, listed) = read(&mut ada, "list_invites", &format!("slug={slug}")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // Only the invited address may use the link.
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (status, refused) = post(&mut eve, "accept_invite", json!({ "token": token })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, joined) = post(&mut bob, "accept_invite", json!({ "token": token })).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["slug"], slug.as_str());

    // A member may not change roles; an owner may.
    let bob_id = bob_me["user"]["id"].clone();
    let change = json!({ "slug": slug, "member": bob_id, "role": "viewer" });
    let (status, refused) = post(&mut bob, "change_member_role", change.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // A role change without its role is refused, never read as "remove".
    let unnamed = json!({ "slug": slug, "member": bob_id });
    let (status, refused) = post(&mut ada, "change_member_role", unnamed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, done) = post(&mut ada, "change_member_role", change).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, detail) = read(&mut ada, "get_team", &format!("slug={slug}")).await;
    let roles: Vec<&str> = detail["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert!(roles.contains(&"viewer"), "{detail}");

    let query = format!("slug={slug}&limit=50");
    let (status, log) = read(&mut ada, "team_audit_log", &query).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let (_, from_rest) = ada
        .get(&format!("/api/v1/teams/{slug}/audit?limit=50"))
        .await;
    assert_eq!(log, from_rest);
    assert!(
        log["items"]
            .as_array()
            .is_some_and(|items| items.len() >= 3),
        "{log}"
    );

    let (status, left) = post(&mut bob, "leave_team", json!({ "slug": slug })).await;
    assert_eq!(status, StatusCode::OK, "{left}");
    let (status, gone) = read(&mut bob, "get_team", &format!("slug={slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
}

/// Keys, the wallet and the ledger through the settings and wallet pages'
/// functions; arguments the REST API refuses are refused the same way; a
/// body past the limit is refused before any of it is parsed.
#[tokio::test]
async fn keys_and_credits_work_through_server_functions() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let request = json!({ "request": { "name": "ci", "scopes": ["agents:read"] } });
    let (status, key) = post(&mut ada, "create_api_key", request).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert!(key["token"].is_string(), "{key}");
    let (_, keys) = read(&mut ada, "list_api_keys", "").await;
    let (_, from_rest) = ada.get("/api/v1/api-keys").await;
    assert_eq!(keys, from_rest);
    let id = key["key"]["id"].clone();
    let (status, _) = post(&mut ada, "revoke_api_key", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::OK);
    // No such key (or another user's): 404 on both doors.
    let nobody = uuid::Uuid::new_v4();
    let (status, missing) = post(&mut ada, "revoke_api_key", json!({ "id": nobody })).await;
    let (_, from_rest) = ada.delete(&format!("/api/v1/api-keys/{nobody}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    same_error(&missing, &from_rest, "not_found");

    let (status, wallet) = read(&mut ada, "get_wallet", "").await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    let (_, from_rest) = ada.get("/api/v1/wallet").await;
    assert_eq!(wallet, from_rest);
    let (_, lines) = read(&mut ada, "ledger_lines", "limit=10").await;
    let (_, from_rest) = ada.get("/api/v1/ledger?limit=10").await;
    assert_eq!(lines, from_rest);
    let (status, refused) = read(&mut ada, "get_usage", "days=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (_, from_rest) = ada.get("/api/v1/billing/usage?days=0").await;
    same_error(&refused, &from_rest, "invalid_parameter");

    // A malformed id is unreadable input, named.
    let (status, unreadable) = read(&mut ada, "get_checkout", "id=not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{unreadable}");
    assert_eq!(unreadable["code"], "invalid_request", "{unreadable}");

    // Past the limit: refused whole, and the server goes on.
    let huge = "x".repeat(server::api::server_fns::MAX_BODY_BYTES + 1);
    let (status, refused) = post(&mut ada, "render_markdown", json!({ "text": huge })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["field"], "body", "{refused}");
    let (status, _) = read(&mut ada, "get_wallet", "").await;
    assert_eq!(status, StatusCode::OK);
}

/// Reviews through the agent page's functions: a user reviews, writes again
/// (an edit), the author replies once; the page shows what REST shows.
#[tokio::test]
async fn reviews_and_replies_work_through_server_functions() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let slug = crate::support::publish_agent(&mut ada, "Haiku", |_| {}).await;

    let review = json!({ "slug": slug, "review": { "rating": 4, "body": "Good" } });
    let (status, written) = post(&mut bob, "write_review", review).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let edit = json!({ "slug": slug, "review": { "rating": 5, "body": "Better" } });
    let (status, edited) = post(&mut bob, "write_review", edit).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["id"], written["id"]);

    // Only the author replies, and once.
    let reply = json!({ "slug": slug, "review": written["id"], "reply": { "body": "Thanks!" } });
    let (status, refused) = post(&mut bob, "reply_to_review", reply.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, replied) = post(&mut ada, "reply_to_review", reply.clone()).await;
    assert_eq!(status, StatusCode::OK, "{replied}");
    let (status, again) = post(&mut ada, "reply_to_review", reply).await;
    assert!(status.is_client_error(), "{status}: {again}");

    let (status, page) = read(&mut bob, "list_reviews", &format!("slug={slug}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, from_rest) = bob.get(&format!("/api/v1/agents/{slug}/reviews")).await;
    assert_eq!(page, from_rest);
    assert_eq!(page["items"][0]["reply"]["body"], "Thanks!", "{page}");
}

/// A platform administrator grants credits through the admin page's
/// function: the same key grants once, and a misspelt key is refused
/// rather than read as no key (which would grant again).
#[tokio::test]
async fn grants_through_the_admin_function_happen_once_per_key() {
    use diesel_async::RunQueryDsl as _;
    let app = TestApp::spawn().await;
    let (mut root, _) = Browser::sign_up(&app, "root@example.com", "Root").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    diesel::sql_query("UPDATE users SET is_admin = true WHERE email = 'root@example.com'")
        .execute(&mut app.sql().await)
        .await
        .expect("making an administrator");
    let grant = json!({ "workspace": "bob", "credits": 40, "reason": "Outage refund" });
    let (_, before) = bob.get("/api/v1/wallet").await;

    let order = json!({ "order": { "grant": grant, "idempotency_key": "refund-1" } });
    let (status, first) = post(&mut root, "grant_credits", order.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = post(&mut root, "grant_credits", order).await;
    assert!(status.is_success(), "{status}: {second}");
    let misspelt = json!({ "order": { "grant": grant, "idempotencyKey": "refund-1" } });
    let (status, refused) = post(&mut root, "grant_credits", misspelt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let unprintable = json!({ "order": { "grant": grant, "idempotency_key": "a\u{0}b" } });
    let (status, refused) = post(&mut root, "grant_credits", unprintable).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["field"], "idempotency_key", "{refused}");

    let (_, after) = bob.get("/api/v1/wallet").await;
    let gained = after["balance"].as_i64().unwrap_or(0) - before["balance"].as_i64().unwrap_or(0);
    assert_eq!(gained, 40, "granted once: {before} -> {after}");
}

#[tokio::test]
async fn answers_are_never_cached() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/fn/list_templates").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers().get(reqwest::header::CACHE_CONTROL);
    assert_eq!(cache.and_then(|v| v.to_str().ok()), Some("no-store"));
}

/// Signing in, up and out through the sign-in page's functions: the session
/// cookie set and cleared as by REST, one limit shared by both doors (429
/// with `Retry-After`), and keys refused.
#[tokio::test]
async fn signing_in_and_out_through_server_functions_sets_the_cookie_and_shares_the_limits() {
    use server::rate_limit::{Backoff, LimitSettings};
    let app = TestApp::builder()
        .limits(LimitSettings {
            login_per_account: Backoff {
                free: 2,
                first: std::time::Duration::from_secs(30),
                longest: std::time::Duration::from_secs(30),
            },
            ..LimitSettings::default()
        })
        .spawn()
        .await;
    let password = crate::support::browser::STRONG_PASSWORD;
    let mut ada = Browser::new(&app);
    let signup =
        json!({ "request": { "email": "ada@example.com", "password": password, "name": "Ada" } });
    let (status, me) = post(&mut ada, "sign_up", signup).await;
    assert_eq!(status, StatusCode::CREATED, "{me}");
    assert!(ada.cookie.is_some(), "the session cookie is set");
    let (status, shown) = read(&mut ada, "current_user", "").await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["user"]["email"], "ada@example.com");

    let (status, _) = post(&mut ada, "sign_out", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ada.cookie.is_none(), "the cookie is cleared");
    let (status, _) = read(&mut ada, "current_user", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The account's limit counts both doors: one REST attempt, one through
    // the function, then the function is refused with a wait.
    let wrong = json!({ "email": "ada@example.com", "password": "not the password at all" });
    let (status, _) = Browser::new(&app)
        .post("/api/v1/auth/login", wrong.clone())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut eve = Browser::new(&app);
    let (status, _) = post(&mut eve, "sign_in", json!({ "request": wrong })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let right = json!({ "request": { "email": "ada@example.com", "password": password } });
    let response = eve
        .send(reqwest::Method::POST, "/api/fn/sign_in", Some(right))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response.headers().contains_key("retry-after"),
        "{:?}",
        response.headers()
    );
    let (_, body) = crate::support::json_of(response).await;
    assert_eq!(body["code"], "rate_limited", "{body}");

    // An API key cannot sign in.
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let (_, key) = bob
        .post(
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read"] }),
        )
        .await;
    let token = key["token"].as_str().expect("a token");
    let response = app
        .http
        .post(app.url("/api/fn/sign_in"))
        .bearer_auth(token)
        .json(&json!({ "request": { "email": "bob@example.com", "password": password } }))
        .send()
        .await
        .expect("signing in with a key");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// A cross-site form can post `text/plain` without asking first; a change
/// must be JSON, so such a post never reaches a function (signing in
/// included, where no CSRF token can be asked for yet).
#[tokio::test]
async fn changes_must_be_json() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.url("/api/fn/sign_in"))
        .header(reqwest::header::ORIGIN, &app.base_url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .body(r#"{"request":{"email":"a@example.com","password":"x"}}"#)
        .send()
        .await
        .expect("posting a form");
    let (status, body) = crate::support::json_of(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "body", "{body}");
}

/// Refusals before any function runs (the CSRF check, the API limit) come
/// in a server function's own error shape, so the SPA can show them: a
/// page that calls before it has the session's token is told why.
#[tokio::test]
async fn a_missing_csrf_token_is_refused_in_the_server_functions_shape() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    ada.csrf = None;
    let response = ada
        .send(
            reqwest::Method::POST,
            "/api/fn/verify_email",
            Some(json!({ "request": { "token": "made-up" } })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, body) = crate::support::json_of(response).await;
    assert_eq!(body["code"], "forbidden", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("x-csrf-token"))
    );
    assert!(body.get("error").is_none(), "not the REST envelope: {body}");
    // REST keeps its envelope.
    let (status, rest) = ada
        .post("/api/v1/auth/verify-email", json!({ "token": "made-up" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(rest["error"]["code"], "forbidden", "{rest}");
}
