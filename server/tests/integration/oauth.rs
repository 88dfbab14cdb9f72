//! OAuth 2.1 in front of `/mcp`, walked step by step over HTTP: discovery,
//! registration, authorization with its refusals, consent (the server
//! functions the consent page calls), the code exchange with PKCE, access
//! to `/mcp`, refresh with rotation, and revocation three ways. The
//! official TypeScript SDK walks the same flow through a real browser in
//! end2end/mcp_oauth.test.mjs.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::browser::Browser;
use crate::support::{TestApp, json_of, server_fn};

const REDIRECT: &str = "http://127.0.0.1:53682/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9x-F2R8n_c5hhHz8f1eEzXlpY-abcdefghijkl";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

async fn register(app: &TestApp, body: Value) -> (StatusCode, Value) {
    json_of(
        app.http
            .post(app.url("/oauth/register"))
            .json(&body)
            .send()
            .await
            .expect("register"),
    )
    .await
}

/// GET /oauth/authorize with `params`: the status and Location.
async fn authorize(app: &TestApp, params: &[(&str, &str)]) -> (StatusCode, Option<String>) {
    let response = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(params)
        .send()
        .await
        .expect("authorize");
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("text").to_owned());
    (response.status(), location)
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token");
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_of(response).await
}

/// Status of an MCP `initialize` with `token`.
async fn mcp_status(app: &TestApp, token: &str) -> StatusCode {
    app.http
        .post(app.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": { "name": "oauth-test", "version": "1" } } }),
        )
        .send()
        .await
        .expect("initialize")
        .status()
}

/// Authorizes `client` as `person` (approving), answering the code.
async fn approved_code(app: &TestApp, person: &mut Browser, client: &str) -> String {
    let resource = app.url("/mcp");
    let challenge = challenge(VERIFIER);
    let (status, location) = authorize(
        app,
        &[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("a location");
    let request = location
        .strip_prefix("/oauth/consent?request=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    let (status, shown) =
        server_fn::post(person, "consent_request", json!({ "id": request })).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["client_name"], "Test client");
    assert_eq!(shown["redirect_to"], "http://127.0.0.1:53682");
    let (status, decided) = server_fn::post(
        person,
        "decide_consent",
        json!({ "decision": { "id": request, "approve": true } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let redirect = decided["redirect"].as_str().expect("a redirect");
    assert!(redirect.starts_with(REDIRECT), "{redirect}");
    let query = query_of(redirect);
    assert_eq!(query["state"], "s1");
    assert_eq!(query["iss"], app.base_url);
    query["code"].clone()
}

#[tokio::test]
async fn a_client_registers_is_approved_and_gets_rotating_tokens_for_mcp_only() {
    let app = TestApp::spawn().await;
    let (mut person, _) = Browser::sign_up(&app, "oauth@example.com", "Person").await;

    // Discovery.
    let (status, resource) = app
        .get_json("/.well-known/oauth-protected-resource/mcp")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resource["resource"], app.url("/mcp"));
    assert_eq!(resource["authorization_servers"], json!([app.base_url]));
    let (_, server) = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(server["issuer"], app.base_url);
    assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));

    // Registration, and its refusals.
    let (status, refused) =
        register(&app, json!({ "redirect_uris": ["http://evil.example/cb"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_redirect_uri");
    let (status, client) = register(
        &app,
        json!({ "redirect_uris": [REDIRECT], "client_name": "Test client", "application_type": "native" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert!(client.get("client_secret").is_none(), "a public client");
    let client = client["client_id"].as_str().expect("an id").to_owned();

    // Authorization refusals: never sent to an address the client did not
    // register; sent back for the rest.
    let challenge = challenge(VERIFIER);
    let base = |redirect: &'static str| {
        vec![
            ("response_type", "code"),
            ("client_id", client.as_str()),
            ("redirect_uri", redirect),
            ("state", "s0"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
    };
    for redirect in [
        "http://127.0.0.1:53683/callback",
        "http://127.0.0.1:53682/callback/",
    ] {
        let (status, location) = authorize(&app, &base(redirect)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect}");
        assert_eq!(location, None);
    }
    let (status, location) = authorize(
        &app,
        &[
            ("client_id", "mcp_client_nobody_nobody"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
    let cases: [(Vec<(&str, &str)>, &str); 4] = [
        (
            base(REDIRECT)
                .into_iter()
                .filter(|(k, _)| *k != "code_challenge")
                .collect(),
            "invalid_request",
        ),
        (
            base(REDIRECT)
                .into_iter()
                .map(|(k, v)| {
                    if k == "code_challenge_method" {
                        (k, "plain")
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "invalid_request",
        ),
        (
            [
                base(REDIRECT),
                vec![("resource", "https://evil.example/mcp")],
            ]
            .concat(),
            "invalid_target",
        ),
        (
            [base(REDIRECT), vec![("scope", "mcp admin")]].concat(),
            "invalid_scope",
        ),
    ];
    // Each is shown here, never sent back: anyone may register a client
    // with any https address, which would make errors an open redirect.
    for (params, error) in cases {
        let response = no_redirects()
            .get(app.url("/oauth/authorize"))
            .query(&params)
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.expect("a page");
        assert!(page.contains(error), "{params:?}: {page}");
    }

    // The code exchange: a wrong verifier, a missing one, another
    // redirect address are refused; the right one gets tokens.
    let code = approved_code(&app, &mut person, &client).await;
    let exchange = |verifier: Option<&'static str>, redirect: &'static str| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client.as_str()),
            ("redirect_uri", redirect),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        form
    };
    let wrong = "x".repeat(50);
    let wrong: &'static str = Box::leak(wrong.into_boxed_str());
    for (form, why) in [
        (exchange(Some(wrong), REDIRECT), "wrong verifier"),
        (exchange(None, REDIRECT), "no verifier"),
        (
            exchange(Some(VERIFIER), "http://127.0.0.1:53682/other"),
            "other redirect",
        ),
    ] {
        let (status, body) = token(&app, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(body["error"], "invalid_grant", "{why}: {body}");
    }
    let (status, tokens) = token(&app, &exchange(Some(VERIFIER), REDIRECT)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(mcp_status(&app, &access).await, StatusCode::OK);
    // For /mcp only: the REST API does not take it.
    let response = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The approval is in the person's keys, holding only mcp.
    let (_, keys) = person.get("/api/v1/api-keys").await;
    let approval = keys
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["name"] == "MCP: Test client"))
        .unwrap_or_else(|| panic!("{keys}"))
        .clone();
    assert_eq!(approval["scopes"], json!(["mcp"]));
    assert!(
        approval["expires_at"].is_string(),
        "an approval ends with its refresh token: {approval}"
    );

    // The code again: refused, and what it gave is revoked.
    let (status, body) = token(&app, &exchange(Some(VERIFIER), REDIRECT)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(mcp_status(&app, &access).await, StatusCode::UNAUTHORIZED);
    let refreshed = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(refreshed.0, StatusCode::BAD_REQUEST, "{}", refreshed.1);

    // A new approval: refresh rotates; the old refresh token again
    // revokes the approval.
    let code = approved_code(&app, &mut person, &client).await;
    let (_, tokens) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", &app.url("/mcp")),
        ],
    )
    .await;
    let first_refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let refresh_with = |token: String| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token),
            ("client_id", client.clone()),
        ]
    };
    let (status, rotated) = token(
        &app,
        &refresh_with(first_refresh.clone())
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let access = rotated["access_token"].as_str().expect("access").to_owned();
    assert_ne!(rotated["refresh_token"], json!(first_refresh));
    assert_eq!(mcp_status(&app, &access).await, StatusCode::OK);
    let (status, body) = token(
        &app,
        &refresh_with(first_refresh)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        mcp_status(&app, &access).await,
        StatusCode::UNAUTHORIZED,
        "a replayed refresh token ends the approval"
    );

    // Revocation by the client (RFC 7009), and from settings.
    for from_settings in [false, true] {
        let code = approved_code(&app, &mut person, &client).await;
        let (_, tokens) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &client),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        let access = tokens["access_token"].as_str().expect("access").to_owned();
        assert_eq!(mcp_status(&app, &access).await, StatusCode::OK);
        if from_settings {
            let (_, keys) = person.get("/api/v1/api-keys").await;
            let id = keys
                .as_array()
                .and_then(|keys| {
                    keys.iter()
                        .find(|k| k["name"] == "MCP: Test client" && k["revoked_at"].is_null())
                })
                .map(|k| k["id"].as_str().expect("id").to_owned())
                .expect("the approval");
            let (status, _) = person.delete(&format!("/api/v1/api-keys/{id}")).await;
            assert!(status.is_success());
        } else {
            let response = app
                .http
                .post(app.url("/oauth/revoke"))
                .form(&[
                    ("token", tokens["refresh_token"].as_str().expect("refresh")),
                    ("client_id", &client),
                ])
                .send()
                .await
                .expect("revoke");
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert_eq!(
            mcp_status(&app, &access).await,
            StatusCode::UNAUTHORIZED,
            "revoked (settings: {from_settings})"
        );
    }

    // A token for another resource (as if minted when this server had
    // another public address) is refused.
    let code = approved_code(&app, &mut person, &client).await;
    let (_, tokens) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    assert_eq!(mcp_status(&app, &access).await, StatusCode::OK);
    {
        use diesel_async::RunQueryDsl as _;
        diesel::sql_query("UPDATE oauth_tokens SET resource = 'https://other.example/mcp'")
            .execute(&mut app.sql().await)
            .await
            .expect("re-aiming the tokens");
    }
    assert_eq!(mcp_status(&app, &access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn denying_or_deciding_twice_gives_nothing() {
    let app = TestApp::spawn().await;
    let (mut person, _) = Browser::sign_up(&app, "oauth-deny@example.com", "Person").await;
    let (_, client) = register(
        &app,
        json!({ "redirect_uris": [REDIRECT], "client_name": "Test client" }),
    )
    .await;
    let client = client["client_id"].as_str().expect("an id").to_owned();
    let challenge = challenge(VERIFIER);
    let (_, location) = authorize(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "z"),
        ],
    )
    .await;
    let request = location
        .expect("consent")
        .replace("/oauth/consent?request=", "");
    // A key is no person: it cannot decide.
    let (status, made) = person
        .post(
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["mcp"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let response = app
        .http
        .post(app.url("/api/fn/decide_consent"))
        .bearer_auth(made["token"].as_str().expect("token"))
        .json(&json!({ "decision": { "id": request, "approve": true } }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, decided) = server_fn::post(
        &mut person,
        "decide_consent",
        json!({ "decision": { "id": request, "approve": false } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let query = query_of(decided["redirect"].as_str().expect("redirect"));
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "z");
    assert!(!query.contains_key("code"));
    let (status, again) = server_fn::post(
        &mut person,
        "decide_consent",
        json!({ "decision": { "id": request, "approve": true } }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    // Another person cannot approve a request for someone else's
    // workspace.
    let (_, location) = authorize(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let request = location
        .expect("consent")
        .replace("/oauth/consent?request=", "");
    let (mut other, _) = Browser::sign_up(&app, "oauth-other@example.com", "Other").await;
    // NUL characters anywhere in the forms are refused, never a 500.
    for form in [
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "a\0b"),
        ],
        vec![
            ("grant_type", "authorization_code\0"),
            ("client_id", client.as_str()),
        ],
    ] {
        let (status, body) = token(&app, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
    }
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("mcp_client_\0", Some("x"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A name claiming to be us is refused.
    let (status, body) = register(
        &app,
        json!({ "redirect_uris": [REDIRECT], "client_name": "Agentdeck\u{200B} official" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, mine) = person.get("/api/v1/me").await;
    let workspace = mine["workspaces"][0]["id"].clone();
    let (status, body) = server_fn::post(
        &mut other,
        "decide_consent",
        json!({ "decision": { "id": request, "approve": true, "workspace": workspace } }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
