//! A stand-in for GitHub's OAuth and REST endpoints on a local port, strict
//! where GitHub is: the client id and secret, the exact redirect URI, PKCE
//! S256 against the challenge, single-use codes, bearer tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";

#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub email: String,
    pub verified: bool,
}

#[derive(Default)]
struct World {
    /// Who is "signed in to GitHub" in the browser, and whether they consent.
    account: Option<Account>,
    deny: bool,
    codes: HashMap<String, (String, String, Account)>,
    tokens: HashMap<String, Account>,
    exchanges: usize,
}

#[derive(Clone)]
pub struct FakeGithub {
    pub base_url: String,
    world: Arc<Mutex<World>>,
}

impl FakeGithub {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World::default()));
        let router = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(world.clone());
        let base_url = super::serve_stand_in(router).await;
        Self { base_url, world }
    }

    pub fn sign_in_as(&self, account: Account) {
        let mut world = self.world.lock().expect("lock");
        world.account = Some(account);
        world.deny = false;
    }

    pub fn deny_consent(&self) {
        self.world.lock().expect("lock").deny = true;
    }

    /// Successful code-for-token exchanges so far.
    pub fn exchanges(&self) -> usize {
        self.world.lock().expect("lock").exchanges
    }
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
}

async fn authorize(
    State(world): State<Arc<Mutex<World>>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
    if params.client_id != CLIENT_ID || params.response_type != "code" {
        return bad("unknown client or response type");
    }
    if params.code_challenge_method.as_deref() != Some("S256") {
        return bad("PKCE S256 is required");
    }
    let Some(challenge) = params.code_challenge else {
        return bad("code_challenge is required");
    };
    if !params.scope.unwrap_or_default().contains("user:email") {
        return bad("the user:email scope is needed to read addresses");
    }
    let state = url_encode(&params.state);
    if world.deny {
        return Redirect::to(&format!(
            "{}?error=access_denied&error_description=The+user+has+denied+your+application+access.&state={state}",
            params.redirect_uri
        ))
        .into_response();
    }
    let Some(account) = world.account.clone() else {
        return bad("nobody is signed in to the stand-in");
    };
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    world.codes.insert(
        code.clone(),
        (challenge, params.redirect_uri.clone(), account),
    );
    Redirect::to(&format!(
        "{}?code={code}&state={state}",
        params.redirect_uri
    ))
    .into_response()
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn client_authenticated(headers: &HeaderMap, form: &TokenForm) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    basic.as_deref() == Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        || (form.client_id.as_deref() == Some(CLIENT_ID)
            && form.client_secret.as_deref() == Some(CLIENT_SECRET))
}

async fn access_token(
    State(world): State<Arc<Mutex<World>>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let refuse =
        |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
    if !client_authenticated(&headers, &form) {
        return refuse("invalid_client");
    }
    if form.grant_type != "authorization_code" {
        return refuse("unsupported_grant_type");
    }
    // Codes are single use, whatever the outcome.
    let Some((challenge, redirect_uri, account)) = world.codes.remove(&form.code) else {
        return refuse("invalid_grant");
    };
    if form.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
        return refuse("invalid_grant");
    }
    let Some(verifier) = form.code_verifier else {
        return refuse("invalid_grant");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("invalid_grant");
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    world.tokens.insert(token.clone(), account);
    world.exchanges += 1;
    Json(json!({ "access_token": token, "token_type": "bearer", "scope": "read:user,user:email" }))
        .into_response()
}

fn account_for(world: &Mutex<World>, headers: &HeaderMap) -> Option<Account> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    world.lock().expect("lock").tokens.get(token).cloned()
}

async fn user(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    match account_for(&world, &headers) {
        Some(a) => Json(json!({ "id": a.id, "login": a.login, "name": a.name })).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn emails(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    match account_for(&world, &headers) {
        Some(a) => Json(json!([
            { "email": format!("{}@users.noreply.github.com", a.login), "primary": false, "verified": true },
            { "email": a.email, "primary": true, "verified": a.verified },
        ]))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
