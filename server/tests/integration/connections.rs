//! Connections against a strict local OAuth provider (support::oauth_provider):
//! connecting through its sign-in (PKCE, `state` bound to the browser, the
//! exact redirect URI, the client's secret), refreshing on expiry and after
//! a 401, two processes refreshing at once, a grant revoked at the provider
//! breaking the connection, disconnecting (revoked there too), keys, who
//! may do what, and that no token is kept anywhere in the clear.

use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl as _;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use service::connections::refresh;

use crate::support::browser::Browser;
use crate::support::oauth_provider::{self, StandIn};
use crate::support::{TestApp, mail};
use crate::teams::acme;

pub(crate) struct World {
    pub app: TestApp,
    pub standin: StandIn,
    pub clock: service::clock::Clock,
    _catalogue: tempfile::TempDir,
}

/// A server with the stand-in configured, on a clock the test moves.
async fn world() -> World {
    world_on(
        service::clock::Clock::manual(chrono::Utc::now()),
        TestApp::builder(),
    )
    .await
}

/// A server with the stand-in configured, built from `builder`.
pub(crate) async fn world_on(
    clock: service::clock::Clock,
    builder: crate::support::TestAppBuilder,
) -> World {
    let standin = StandIn::start().await;
    let catalogue = standin.catalogue_dir();
    let app = builder
        .clock(clock.clone())
        .connections(standin.settings(catalogue.path()))
        .spawn()
        .await;
    standin.expect_redirect_uri(&app.url("/connect/callback"));
    World {
        app,
        standin,
        clock,
        _catalogue: catalogue,
    }
}

fn navigator() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The browser asks to connect: the provider URL and the flow cookie.
async fn authorize(
    browser: &Browser,
    workspace: &str,
    body: Value,
) -> (StatusCode, Value, Option<String>) {
    let response = browser
        .request(
            Method::POST,
            &format!("/api/v1/connections/authorize?workspace={workspace}"),
        )
        .json(&body)
        .send()
        .await
        .expect("starting to connect");
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("agentdeck_connect="))
        .map(str::to_owned);
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, cookie)
}

/// Where the stand-in sends the browser after its consent.
async fn consent(authorize_url: &str) -> String {
    let hop = navigator()
        .get(authorize_url)
        .send()
        .await
        .expect("the provider's page");
    assert_eq!(hop.status(), StatusCode::SEE_OTHER, "the stand-in refused");
    hop.headers()[LOCATION]
        .to_str()
        .expect("a location")
        .to_owned()
}

/// The browser arrives back at the callback: where it is sent next.
async fn arrive(browser: &Browser, callback: &str, flow_cookie: Option<&str>) -> String {
    let mut cookies: Vec<String> = browser.cookie.iter().cloned().collect();
    if let Some(flow) = flow_cookie {
        cookies.push(flow.split(';').next().expect("a pair").to_owned());
    }
    let hop = navigator()
        .get(callback)
        .header(COOKIE, cookies.join("; "))
        .send()
        .await
        .expect("the callback");
    assert_eq!(hop.status(), StatusCode::SEE_OTHER);
    let cleared = hop
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("agentdeck_connect=;"));
    assert!(cleared, "the flow cookie is cleared");
    hop.headers()[LOCATION]
        .to_str()
        .expect("a location")
        .to_owned()
}

/// Connects the stand-in through its sign-in; answers the connection's id.
pub(crate) async fn connect(w: &World, browser: &Browser, workspace: &str) -> String {
    let (status, started, cookie) = authorize(
        browser,
        workspace,
        json!({ "provider": "standin", "scopes": ["items:read"], "return_to": "/integrations" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let cookie = cookie.expect("the flow cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let url = started["authorize_url"].as_str().expect("a URL");
    assert!(url.starts_with(&w.standin.base_url), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let back = arrive(browser, &consent(url).await, Some(&cookie)).await;
    let id = back
        .strip_prefix("/integrations?connected=")
        .unwrap_or_else(|| panic!("not connected: {back}"));
    id.to_owned()
}

/// Every column of every table, as text, must hold none of `secrets`.
pub(crate) async fn assert_kept_nowhere(app: &TestApp, secrets: &[String]) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        dump: Option<String>,
    }
    let mut conn = app.sql().await;
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .await
    .expect("the tables");
    assert!(tables.len() > 30);
    for table in tables {
        let dump: Vec<Dump> = diesel::sql_query(format!(
            "SELECT string_agg(t::text, ' ') AS dump FROM \"{}\" t",
            table.table_name
        ))
        .load(&mut conn)
        .await
        .expect("a table's rows");
        let text = dump.into_iter().filter_map(|d| d.dump).collect::<String>();
        for secret in secrets {
            let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
            assert!(
                !text.contains(secret.as_str()) && !text.contains(&hex),
                "a token is kept in the clear in {}",
                table.table_name
            );
        }
    }
}

#[tokio::test]
async fn connecting_through_a_strict_provider_keeps_the_account_and_no_token_in_the_clear() {
    let w = world().await;
    let (mut owner, me) = Browser::sign_up(&w.app, "ada@example.com", "Ada").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();

    // The catalogue: public, the stand-in available, GitHub not (no app).
    let (status, providers) = w.app.get_json("/api/v1/providers").await;
    assert_eq!(status, StatusCode::OK);
    let find = |id: &str| {
        providers["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    assert_eq!(find("standin")["available"], true);
    assert_eq!(find("github")["available"], false);
    assert_eq!(find("openai")["available"], true);
    assert_eq!(find("standin")["scopes"][0]["default"], true);

    let id = connect(&w, &owner, &personal).await;
    let (status, list) = owner
        .get(&format!("/api/v1/connections?workspace={personal}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let connection = &list["items"][0];
    assert_eq!(connection["id"], id.as_str());
    assert_eq!(connection["provider"], "standin");
    assert_eq!(connection["account_id"], "u-1815");
    assert_eq!(connection["account_name"], "Ada at the stand-in");
    assert_eq!(connection["scopes"], json!(["profile", "items:read"]));
    assert_eq!(connection["status"], "active");
    assert_eq!(connection["owner_name"], "Ada");
    let text = list.to_string();
    for token in w.standin.issued() {
        assert!(!text.contains(&token), "the list shows a token");
    }

    // Connecting the same account again renews that connection.
    let again = connect(&w, &owner, &personal).await;
    assert_eq!(again, id);
    let (_, list) = owner.get("/api/v1/connections").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // The audit log has both.
    let (status, audit) = owner.get("/api/v1/audit?action=connection.create").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(audit.to_string().contains("connection.create"), "{audit}");

    assert_kept_nowhere(&w.app, &w.standin.issued()).await;
}

#[tokio::test]
async fn a_flow_works_once_for_its_own_browser_and_state() {
    let w = world().await;
    let (owner, me) = Browser::sign_up(&w.app, "flow@example.com", "Flo").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let body = json!({ "provider": "standin", "return_to": "/integrations" });

    // Another browser (no flow cookie) arriving with the code gets nothing.
    let (_, started, cookie) = authorize(&owner, &personal, body.clone()).await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    let back = arrive(&owner, &callback, None).await;
    assert_eq!(back, "/integrations?connect_error=connect_flow_missing");
    // The flow's own browser, once; not twice.
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert!(back.starts_with("/integrations?connected="), "{back}");
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert_eq!(back, "/integrations?connect_error=connect_flow_missing");

    // A code with another flow's state (an attacker's code in this browser).
    let (_, started, cookie) = authorize(&owner, &personal, body.clone()).await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    let forged = callback.replace("state=", "state=x");
    let back = arrive(&owner, &forged, cookie.as_deref()).await;
    assert_eq!(back, "/integrations?connect_error=connect_state_mismatch");

    // The person says no at the provider.
    w.standin.deny_consent(true);
    let (_, started, cookie) = authorize(&owner, &personal, body.clone()).await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert_eq!(back, "/integrations?connect_error=connect_denied");
    w.standin.deny_consent(false);

    // A flow whose session was signed out meanwhile connects nothing.
    let (_, started, cookie) = authorize(&owner, &personal, body.clone()).await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    let mut signed_out = owner.clone();
    let (status, _) = signed_out.post_empty("/api/v1/auth/logout").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert_eq!(back, "/integrations?connect_error=connect_session_ended");

    // A return path elsewhere is not followed.
    let (owner, _) = Browser::sign_up(&w.app, "flow2@example.com", "Flo2").await;
    let (_, started, cookie) = authorize(
        &owner,
        "",
        json!({ "provider": "standin", "return_to": "https://evil.example/x" }),
    )
    .await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert!(back.starts_with("/?connected="), "{back}");

    // Flows a day past their expiry are purged, used or not; a purged
    // flow's browser finds nothing.
    let (_, started, cookie) = authorize(&owner, "", body.clone()).await;
    let callback = consent(started["authorize_url"].as_str().expect("a URL")).await;
    assert_eq!(
        service::connections::flows::purge(&w.app.services)
            .await
            .expect("a purge"),
        0
    );
    w.clock.advance(Duration::from_secs(25 * 3600));
    let purged = service::connections::flows::purge(&w.app.services)
        .await
        .expect("a purge");
    assert!(purged >= 5, "{purged} flows purged");
    let back = arrive(&owner, &callback, cookie.as_deref()).await;
    assert_eq!(back, "/integrations?connect_error=connect_flow_missing");
}

#[tokio::test]
async fn tokens_refresh_before_expiry_and_after_a_refusal_once_across_processes() {
    let w = world().await;
    let (owner, me) = Browser::sign_up(&w.app, "refresh@example.com", "Ref").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let id: uuid::Uuid = connect(&w, &owner, &personal).await.parse().expect("an id");
    let token = |u: &refresh::Usable| u.credential.access_token.clone().expect("a token");

    let first = refresh::current(&w.app.services, id).await.expect("usable");
    assert_eq!(w.standin.refreshes(), 0);
    // A refresh is queued before it expires.
    let mut conn = w.app.sql().await;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let queued: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM jobs WHERE kind = 'connection.refresh' AND payload->>'connection' = $1",
    )
    .bind::<Text, _>(id.to_string())
    .get_result(&mut conn)
    .await
    .expect("the queue");
    assert_eq!(queued.n, 1);

    // Close to expiry: refreshed before use, the refresh token rotated.
    w.clock.advance(Duration::from_secs(250));
    let second = refresh::current(&w.app.services, id).await.expect("usable");
    assert_eq!(w.standin.refreshes(), 1);
    assert_ne!(token(&second), token(&first));
    assert_eq!(second.version, first.version + 1);

    // The provider refuses it (401): refreshed; a second caller that saw
    // the same refusal gets the new token without another refresh.
    w.standin.expire_access_tokens();
    let third = refresh::after_refusal(&w.app.services, id, second.version)
        .await
        .expect("refreshed")
        .expect("a fresh token");
    assert_eq!(w.standin.refreshes(), 2);
    let late = refresh::after_refusal(&w.app.services, id, second.version)
        .await
        .expect("the same")
        .expect("the fresh token");
    assert_eq!(w.standin.refreshes(), 2);
    assert_eq!(token(&late), token(&third));
    // The fresh token refused too, within the minute: the request is what
    // the provider refuses; no refresh per call an agent makes.
    let again = refresh::after_refusal(&w.app.services, id, third.version)
        .await
        .expect("no error");
    assert!(again.is_none());
    assert_eq!(w.standin.refreshes(), 2);
    w.clock.advance(Duration::from_secs(61));

    // Two processes (two pools, one database) refuse the same token at
    // once: the provider sees one refresh, and both get its token.
    let other = service::Services::new(server::db::pool(w.app.db.url(), 2).expect("a pool"))
        .with_secrets(&[42; 32])
        .with_clock(w.clock.clone())
        .with_connections(w.app.services.connections.clone());
    w.standin.set_refresh_delay(Duration::from_millis(400));
    w.standin.expire_access_tokens();
    let (a, b) = tokio::join!(
        refresh::after_refusal(&w.app.services, id, third.version),
        refresh::after_refusal(&other, id, third.version),
    );
    let (a, b) = (
        a.expect("refreshed").expect("a token"),
        b.expect("refreshed").expect("a token"),
    );
    assert_eq!(w.standin.refreshes(), 3);
    assert_eq!(token(&a), token(&b));
    // And both about to expire at once, likewise.
    w.clock.advance(Duration::from_secs(250));
    let (a, b) = tokio::join!(
        refresh::current(&w.app.services, id),
        refresh::current(&other, id),
    );
    assert_eq!(w.standin.refreshes(), 4);
    assert_eq!(token(&a.expect("usable")), token(&b.expect("usable")));
    w.standin.set_refresh_delay(Duration::ZERO);

    // The queued job refreshes when its time comes, and only then.
    let expires: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM jobs WHERE kind = 'connection.refresh' AND payload->>'connection' = $1",
    )
    .bind::<Text, _>(id.to_string())
    .get_result(&mut conn)
    .await
    .expect("the queue");
    assert!(expires.n >= 2, "each refresh queues the next");
    let stale = json!({ "connection": id, "expires_at": "2020-01-01T00:00:00Z" });
    refresh::run_job(&w.app.services, &stale)
        .await
        .expect("a stale job is done");
    assert_eq!(w.standin.refreshes(), 4, "a stale job does not refresh");

    assert_kept_nowhere(&w.app, &w.standin.issued()).await;
}

#[tokio::test]
async fn a_grant_ended_at_the_provider_breaks_the_connection_and_tells_its_owner() {
    let w = world().await;
    let (mut owner, me) = Browser::sign_up(&w.app, "broken@example.com", "Bro").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let id: uuid::Uuid = connect(&w, &owner, &personal).await.parse().expect("an id");
    let usable = refresh::current(&w.app.services, id).await.expect("usable");

    w.standin.end_every_grant();
    w.standin.expire_access_tokens();
    let error = refresh::after_refusal(&w.app.services, id, usable.version)
        .await
        .err()
        .expect("broken");
    assert!(error.to_string().contains("broken"), "{error}");
    let (_, shown) = owner.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(shown["status"], "broken", "{shown}");
    assert!(
        shown["broken_reason"]
            .as_str()
            .expect("a reason")
            .contains("invalid_grant"),
        "{shown}"
    );
    let mails = mail::queued(&w.app, "broken@example.com").await;
    assert!(
        mails.iter().any(|m| m["subject"]
            .as_str()
            .is_some_and(|s| s.contains("Stand-in connection needs connecting again"))),
        "{mails:?}"
    );
    // Broken stays broken without asking the provider again.
    let refreshes = w.standin.refreshes();
    assert!(refresh::current(&w.app.services, id).await.is_err());
    assert_eq!(w.standin.refreshes(), refreshes);

    // Connecting the account again mends it, same connection.
    let again = connect(&w, &owner, &personal).await;
    assert_eq!(again, id.to_string());
    let (_, shown) = owner.get(&format!("/api/v1/connections/{id}")).await;
    assert_eq!(shown["status"], "active", "{shown}");
    assert!(refresh::current(&w.app.services, id).await.is_ok());
}

#[tokio::test]
async fn keys_are_checked_and_only_owners_or_admins_disconnect() {
    let w = world().await;
    let (mut owner, mut admin, mut member, mut viewer) = acme(&w.app).await;

    // A member connects a key: checked at the provider first.
    let (status, error) = member
        .browser
        .post(
            "/api/v1/connections?workspace=acme",
            json!({ "provider": "standin-key", "key": "sk_test_wrong" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "key");
    let (status, key) = member
        .browser
        .post(
            "/api/v1/connections?workspace=acme",
            json!({ "provider": "standin-key", "key": oauth_provider::KEY }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert_eq!(key["account_name"], "Ada's test account");
    assert!(!key.to_string().contains(oauth_provider::KEY));
    let key_id = key["id"].as_str().expect("an id").to_owned();
    // A call the provider refuses with this key says nothing about the
    // key (an agent chose the call): it stays active, nobody is mailed.
    let refused = refresh::after_refusal(&w.app.services, key_id.parse().expect("an id"), 1)
        .await
        .expect("no error");
    assert!(refused.is_none());
    let (_, shown) = member
        .browser
        .get(&format!("/api/v1/connections/{key_id}"))
        .await;
    assert_eq!(shown["status"], "active", "{shown}");

    // The admin connects through the sign-in.
    let oauth_id = connect(&w, &admin.browser, "acme").await;

    // A viewer may look, not connect.
    let (status, list) = viewer
        .browser
        .get("/api/v1/connections?workspace=acme")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let (status, _) = viewer
        .browser
        .post(
            "/api/v1/connections?workspace=acme",
            json!({ "provider": "standin-key", "key": oauth_provider::KEY }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, cookie) =
        authorize(&viewer.browser, "acme", json!({ "provider": "standin" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cookie.is_none());

    // A member may not disconnect the admin's; a stranger sees nothing.
    let (status, _) = member
        .browser
        .delete(&format!("/api/v1/connections/{oauth_id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (mut stranger, _) = Browser::sign_up(&w.app, "eve@example.com", "Eve").await;
    let (status, _) = stranger
        .get(&format!("/api/v1/connections/{oauth_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stranger
        .delete(&format!("/api/v1/connections/{oauth_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stranger.get("/api/v1/connections?workspace=acme").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Keys: listing takes any scope, changing `connections:write`, and
    // a sign-in flow a browser.
    let (status, created) = owner
        .browser
        .post(
            "/api/v1/api-keys",
            json!({ "name": "read", "scopes": ["deployments:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reader = created["token"].as_str().expect("a token").to_owned();
    let (status, created) = owner
        .browser
        .post(
            "/api/v1/api-keys",
            json!({ "name": "write", "scopes": ["connections:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let writer = created["token"].as_str().expect("a token").to_owned();
    let key_call = |token: &str, method: Method, path: &str| {
        w.app
            .http
            .request(method, w.app.url(path))
            .bearer_auth(token)
    };
    let response = key_call(&reader, Method::GET, "/api/v1/connections")
        .send()
        .await
        .expect("a call");
    assert_eq!(response.status(), StatusCode::OK);
    let response = key_call(&reader, Method::POST, "/api/v1/connections")
        .json(&json!({ "provider": "standin-key", "key": oauth_provider::KEY }))
        .send()
        .await
        .expect("a call");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = key_call(&writer, Method::POST, "/api/v1/connections")
        .json(&json!({ "provider": "standin-key", "key": oauth_provider::KEY }))
        .send()
        .await
        .expect("a call");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = key_call(&writer, Method::POST, "/api/v1/connections/authorize")
        .json(&json!({ "provider": "standin" }))
        .send()
        .await
        .expect("a call");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The owner of the workspace (an admin) disconnects the member's key;
    // the admin disconnects their own, revoked at the provider.
    let (status, _) = owner
        .browser
        .delete(&format!("/api/v1/connections/{key_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(w.standin.revocations(), 0);
    let (status, _) = admin
        .browser
        .delete(&format!("/api/v1/connections/{oauth_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(w.standin.revocations(), 1);
    let (status, _) = admin
        .browser
        .get(&format!("/api/v1/connections/{oauth_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = owner
        .browser
        .get("/api/v1/teams/acme/audit?action=connection.delete")
        .await;
    assert_eq!(
        audit.to_string().matches("connection.delete").count(),
        2,
        "{audit}"
    );
}

#[tokio::test]
async fn bad_requests_name_their_field_and_keep_nothing() {
    let w = world().await;
    let (mut owner, me) = Browser::sign_up(&w.app, "bad@example.com", "Bad").await;
    let personal = me["workspaces"][0]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    for (body, field) in [
        (json!({ "provider": "nope", "key": "x" }), "provider"),
        (json!({ "provider": "standin", "key": "x" }), "provider"),
        (json!({ "provider": "openai", "key": "not-a-key" }), "key"),
        (json!({ "provider": "standin-key", "key": "" }), "key"),
        (
            json!({ "provider": "standin-key", "key": "sk_test_\nx" }),
            "key",
        ),
        (
            json!({ "provider": "standin-key", "key": "sk_test_x", "params": { "tenant": "a" } }),
            "params",
        ),
    ] {
        let (status, error) = owner.post("/api/v1/connections", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    for (body, field) in [
        (
            json!({ "provider": "standin", "scopes": ["admin"] }),
            "scopes",
        ),
        (json!({ "provider": "github" }), "provider"),
        (json!({ "provider": "openai" }), "provider"),
        (json!({ "provider": "microsoft" }), "provider"),
    ] {
        let (status, error, cookie) = authorize(&owner, &personal, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(cookie.is_none());
    }
    let (status, _) = owner.get("/api/v1/connections/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = owner.get("/api/v1/connections").await;
    assert_eq!(list["items"], json!([]));
}
