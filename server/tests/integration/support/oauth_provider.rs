//! A strict OAuth 2 provider on a local port, for connections: it checks
//! the client's id and secret (HTTP Basic), the exact redirect URI, `state`
//! passed through, PKCE S256 against the challenge, single-use codes;
//! access tokens live five minutes and refresh tokens rotate (a used one is
//! refused, and ends the grant, as OAuth 2.1 asks). It counts refreshes and
//! revocations, can be told to end every grant (the user revoked access at
//! the provider) or to expire every access token, and serves an identity
//! endpoint and an API that answers only a live token (with careless
//! endpoints a hostile agent would use: an echo of the request's headers,
//! the authorization in an answer header, a redirect anywhere, a rate
//! limit). Also a key provider's identity endpoint.
//!
//! `catalogue_dir` writes the two catalogue entries (`standin`,
//! `standin-key`) pointing at it, for `AGENTDECK_PROVIDERS_DIR`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const CLIENT_ID: &str = "standin-client";
pub const CLIENT_SECRET: &str = "standin-secret-value";
/// The key `standin-key` accepts.
pub const KEY: &str = "sk_test_standin_key_4242";
/// Seconds an access token lives.
pub const ACCESS_LIFETIME: i64 = 300;

#[derive(Clone)]
struct Grant {
    scopes: Vec<String>,
    live: bool,
    /// The account that signed in: its id and name.
    account: (String, String),
}

struct Code {
    redirect_uri: String,
    challenge: String,
    grant: usize,
}

#[derive(Default)]
struct World {
    redirect_uri: String,
    deny: bool,
    /// Who signs in next (the default account when `None`).
    signing_in: Option<(String, String)>,
    grants: Vec<Grant>,
    codes: HashMap<String, Code>,
    /// Access token → (grant, expires at).
    access: HashMap<String, (usize, std::time::Instant)>,
    /// Refresh token → (grant, used).
    refresh: HashMap<String, (usize, bool)>,
    refreshes: usize,
    revocations: usize,
    refresh_delay: Duration,
    /// Every token and code handed out, to search for later.
    issued: Vec<String>,
    /// Requests the API saw: method, path, the authorization header.
    api_calls: Vec<(String, String, String)>,
    /// Grants `/api/limited` already answered 429.
    limited: Vec<usize>,
}

#[derive(Clone)]
pub struct StandIn {
    pub base_url: String,
    world: Arc<Mutex<World>>,
}

fn random() -> String {
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes).expect("randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl StandIn {
    /// Serves it; the app's redirect URI is `<app>/connect/callback`.
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World::default()));
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/me", get(me))
            .route("/key/me", get(key_me))
            .route("/api/{*path}", any(api))
            .with_state(world.clone());
        let base_url = super::serve_stand_in(router).await;
        Self { base_url, world }
    }

    pub fn expect_redirect_uri(&self, uri: &str) {
        self.world.lock().expect("lock").redirect_uri = uri.to_owned();
    }

    /// The next sign-ins are this account at the provider.
    pub fn sign_in_as(&self, id: &str, name: &str) {
        self.world.lock().expect("lock").signing_in = Some((id.to_owned(), name.to_owned()));
    }

    pub fn deny_consent(&self, deny: bool) {
        self.world.lock().expect("lock").deny = deny;
    }

    /// The person revoked the app at the provider: every grant ends.
    pub fn end_every_grant(&self) {
        let mut world = self.world.lock().expect("lock");
        for grant in &mut world.grants {
            grant.live = false;
        }
    }

    /// Every access token handed out so far stops working (refresh tokens
    /// still do).
    pub fn expire_access_tokens(&self) {
        let past = std::time::Instant::now() - Duration::from_secs(1);
        for (_, expires) in self.world.lock().expect("lock").access.values_mut() {
            *expires = past;
        }
    }

    pub fn set_refresh_delay(&self, delay: Duration) {
        self.world.lock().expect("lock").refresh_delay = delay;
    }

    pub fn refreshes(&self) -> usize {
        self.world.lock().expect("lock").refreshes
    }

    pub fn revocations(&self) -> usize {
        self.world.lock().expect("lock").revocations
    }

    /// Every token and code it handed out.
    pub fn issued(&self) -> Vec<String> {
        self.world.lock().expect("lock").issued.clone()
    }

    /// Requests its API answered: method, path, authorization header.
    pub fn api_calls(&self) -> Vec<(String, String, String)> {
        self.world.lock().expect("lock").api_calls.clone()
    }

    /// A directory with its catalogue entries, for `AGENTDECK_PROVIDERS_DIR`.
    pub fn catalogue_dir(&self) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let base = &self.base_url;
        let common = |letters: &str| {
            format!(
                "description = \"A strict local stand-in for tests.\"\n\
                 categories = [\"testing\"]\n\
                 icon = {{ letters = \"{letters}\", background = \"#334455\" }}\n\
                 verified_on = \"2026-12-07\"\n\
                 [docs]\n\
                 auth = \"https://www.rfc-editor.org/rfc/rfc6749\"\n\
                 api = \"https://www.rfc-editor.org/rfc/rfc6750\"\n"
            )
        };
        let oauth = format!(
            "name = \"Stand-in\"\n{}\
             [auth]\n\
             kind = \"oauth2\"\n\
             authorize_url = \"{base}/authorize\"\n\
             token_url = \"{base}/token\"\n\
             pkce = \"required\"\n\
             client_auth = \"basic\"\n\
             default_scopes = [\"profile\"]\n\
             scopes = [\n\
               {{ name = \"profile\", description = \"Read who you are\" }},\n\
               {{ name = \"items:read\", description = \"Read your items\" }},\n\
               {{ name = \"items:write\", description = \"Change your items\" }},\n\
             ]\n\
             revoke = {{ url = \"{base}/revoke\", style = \"form\" }}\n\
             [request]\n\
             header = \"Authorization\"\n\
             format = \"Bearer {{token}}\"\n\
             headers = {{ \"X-Standin-Version\" = \"7\" }}\n\
             base_urls = [\"{base}/api\"]\n\
             [rate_limit]\n\
             retry_after = \"retry-after\"\n\
             statuses = [429]\n\
             [identity]\n\
             url = \"{base}/me\"\n\
             id = \"/id\"\n\
             name = \"/name\"\n",
            common("SI")
        );
        let key = format!(
            "name = \"Stand-in keys\"\n{}\
             [auth]\n\
             kind = \"api_key\"\n\
             label = \"Secret key\"\n\
             help_url = \"https://www.rfc-editor.org/rfc/rfc6750\"\n\
             prefixes = [\"sk_test_\"]\n\
             [request]\n\
             header = \"Authorization\"\n\
             format = \"Bearer {{token}}\"\n\
             base_urls = [\"{base}/api\"]\n\
             [identity]\n\
             url = \"{base}/key/me\"\n\
             id = \"/account\"\n\
             name = \"/label\"\n",
            common("SK")
        );
        std::fs::write(dir.path().join("standin.toml"), oauth).expect("writing an entry");
        std::fs::write(dir.path().join("standin-key.toml"), key).expect("writing an entry");
        dir
    }

    /// The settings a server with this stand-in configured has.
    pub fn settings(&self, dir: &std::path::Path) -> service::connections::ConnectionSettings {
        let catalogue =
            service::connections::catalogue::Catalogue::with_dir(dir).expect("the entries parse");
        let mut clients = std::collections::BTreeMap::new();
        clients.insert(
            "standin".to_owned(),
            service::connections::OAuthClient {
                id: CLIENT_ID.to_owned(),
                secret: CLIENT_SECRET.to_owned(),
            },
        );
        service::connections::ConnectionSettings::new(catalogue, clients)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(
    State(world): State<Arc<Mutex<World>>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let mut world = world.lock().expect("lock");
    // Errors about the client or the redirect URI are shown to the person,
    // never sent to an unverified redirect.
    if params.client_id != CLIENT_ID || params.redirect_uri != world.redirect_uri {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect URI").into_response();
    }
    let back = |query: String| Redirect::to(&format!("{}?{query}", params.redirect_uri));
    let Some(state) = params.state.filter(|s| s.len() >= 16) else {
        return (StatusCode::BAD_REQUEST, "state is required").into_response();
    };
    let state_q = form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>();
    if params.response_type != "code" {
        return back(format!("error=unsupported_response_type&state={state_q}")).into_response();
    }
    let (Some(challenge), Some("S256")) = (
        params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) else {
        return back(format!("error=invalid_request&state={state_q}")).into_response();
    };
    let scopes: Vec<String> = params
        .scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes
        .iter()
        .any(|s| !["profile", "items:read", "items:write"].contains(&s.as_str()))
    {
        return back(format!("error=invalid_scope&state={state_q}")).into_response();
    }
    if world.deny {
        return back(format!("error=access_denied&state={state_q}")).into_response();
    }
    let account = world
        .signing_in
        .clone()
        .unwrap_or_else(|| ("u-1815".to_owned(), "Ada at the stand-in".to_owned()));
    world.grants.push(Grant {
        scopes,
        live: true,
        account,
    });
    let grant = world.grants.len() - 1;
    let code = random();
    world.issued.push(code.clone());
    world.codes.insert(
        code.clone(),
        Code {
            redirect_uri: params.redirect_uri.clone(),
            challenge,
            grant,
        },
    );
    back(format!("code={code}&state={state_q}")).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn client_ok(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn issue(world: &mut World, grant: usize) -> Response {
    let access = random();
    let refresh = random();
    world.issued.push(access.clone());
    world.issued.push(refresh.clone());
    world.access.insert(
        access.clone(),
        (
            grant,
            std::time::Instant::now() + Duration::from_secs(ACCESS_LIFETIME as u64),
        ),
    );
    world.refresh.insert(refresh.clone(), (grant, false));
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_LIFETIME,
        "refresh_token": refresh,
        "scope": world.grants[grant].scopes.join(" "),
    }))
    .into_response()
}

async fn token(
    State(world): State<Arc<Mutex<World>>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    // The client authenticates with Basic only: a secret in the body is a
    // client doing what the entry does not say.
    if !client_ok(&headers) || form.client_id.is_some() || form.client_secret.is_some() {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.grant_type.as_str() {
        "authorization_code" => {
            let mut world = world.lock().expect("lock");
            let Some(code) = form.code.and_then(|c| world.codes.remove(&c)) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let verifier_ok = form.code_verifier.is_some_and(|v| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == code.challenge
            });
            if form.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) || !verifier_ok {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue(&mut world, code.grant)
        }
        "refresh_token" => {
            let delay = world.lock().expect("lock").refresh_delay;
            tokio::time::sleep(delay).await;
            let mut world = world.lock().expect("lock");
            let Some(token) = form.refresh_token else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let Some((grant, used)) = world.refresh.get(&token).copied() else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            if used {
                // A refresh token used twice was stolen or replayed: the
                // grant ends.
                world.grants[grant].live = false;
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            if !world.grants[grant].live {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            world.refresh.insert(token, (grant, true));
            world.refreshes += 1;
            issue(&mut world, grant)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    token: String,
}

async fn revoke(
    State(world): State<Arc<Mutex<World>>>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    if !client_ok(&headers) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut world = world.lock().expect("lock");
    let grant = world
        .refresh
        .get(&form.token)
        .map(|(g, _)| *g)
        .or_else(|| world.access.get(&form.token).map(|(g, _)| *g));
    if let Some(grant) = grant {
        world.grants[grant].live = false;
        world.revocations += 1;
    }
    StatusCode::OK.into_response()
}

/// The grant a live bearer token belongs to.
fn bearer(world: &World, headers: &HeaderMap) -> Option<usize> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let (grant, expires) = world.access.get(token)?;
    (world.grants[*grant].live && *expires > std::time::Instant::now()).then_some(*grant)
}

async fn me(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    let world = world.lock().expect("lock");
    match bearer(&world, &headers) {
        Some(grant) => {
            let (id, name) = &world.grants[grant].account;
            Json(json!({ "id": id, "name": name })).into_response()
        }
        None => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

async fn key_me(headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization == Some(&format!("Bearer {KEY}")) {
        Json(json!({ "account": "acct_42", "label": "Ada's test account" })).into_response()
    } else {
        oauth_error(StatusCode::UNAUTHORIZED, "invalid_key")
    }
}

async fn api(
    State(world): State<Arc<Mutex<World>>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    world.api_calls.push((
        method.to_string(),
        uri.path().to_owned(),
        authorization.clone(),
    ));
    let Some(grant) = bearer(&world, &headers) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    match uri.path() {
        // Careless APIs a hostile agent would use to see its credential:
        // one echoes every request header in its body, one in its own
        // headers, one sends the caller elsewhere.
        "/api/echo" => {
            let echoed: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        json!(value.to_str().unwrap_or_default()),
                    )
                })
                .collect();
            Json(json!({ "headers": echoed })).into_response()
        }
        "/api/leak" => (
            [("x-echo-authorization", authorization)],
            Json(json!({ "ok": true })),
        )
            .into_response(),
        "/api/redirect-out" => {
            Redirect::temporary(query.get("to").map_or("/", String::as_str)).into_response()
        }
        // Rate-limited once per grant: the first call waits a second.
        "/api/limited" if !world.limited.contains(&grant) => {
            world.limited.push(grant);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                Json(json!({ "error": "slow_down" })),
            )
                .into_response()
        }
        path => Json(json!({
            "path": path,
            "method": method.as_str(),
            "scopes": world.grants[grant].scopes,
            "version": headers.get("x-standin-version").and_then(|v| v.to_str().ok()),
        }))
        .into_response(),
    }
}
