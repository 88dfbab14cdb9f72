//! The client side of each provider's protocol, driven by its catalogue
//! entry: the authorize URL, the token endpoint (code, refresh and client
//! credentials grants), revocation, the identity call, and how a credential
//! goes on a request. No redirect is followed and no token is logged.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::catalogue::{
    self, Auth, ClientAuth, OAuth2, Param, ParamFrom, Provider, RevokeStyle, TokenBody,
};
use super::{Credential, OAuthClient};

/// Why a token endpoint did not give a token.
#[derive(Debug)]
pub(crate) enum TokenError {
    /// The provider answered with an OAuth error (`invalid_grant`, a Slack
    /// `ok: false`): this grant will not work again.
    Refused(String),
    /// The provider could not be reached, or failed (5xx, not JSON): try
    /// again later.
    Unavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(why) => write!(f, "the provider refused: {why}"),
            Self::Unavailable(why) => write!(f, "the provider is unavailable: {why}"),
        }
    }
}

/// What a token endpoint gave. Its `Debug` shows no token.
pub(crate) struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    pub scopes: Option<Vec<String>>,
    /// `token_response.keep`, as text.
    pub kept: BTreeMap<String, String>,
    /// The whole answer, for an identity read from it (then dropped).
    pub answer: Value,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A PKCE verifier (43 base64url characters) and its S256 challenge.
pub(crate) fn pkce_pair() -> Result<(String, String), crate::ServiceError> {
    let verifier = crate::auth::tokens::random(32)?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Ok((verifier, challenge))
}

/// The values templates may use: the connection's params.
pub(crate) fn values(params: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// The URL to send the browser to.
pub(crate) fn authorize_url(
    oauth: &OAuth2,
    client: &OAuthClient,
    params: &BTreeMap<String, String>,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    challenge: Option<&str>,
) -> Result<String, String> {
    let base = catalogue::fill(&oauth.authorize_url, &values(params))?;
    let mut url = url::Url::parse(&base).map_err(|e| e.to_string())?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if !scopes.is_empty() {
            query.append_pair(&oauth.scope_param, &scopes.join(&oauth.scope_separator));
        }
        if let Some(challenge) = challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        for (name, value) in &oauth.authorize_params {
            query.append_pair(name, value);
        }
    }
    Ok(url.into())
}

/// The token endpoint's errors that say the grant is over: connecting again
/// is the only way on.
const FINAL_ERRORS: &[&str] = &[
    "invalid_grant",
    "unauthorized_client",
    "invalid_scope",
    "access_denied",
    "invalid_refresh_token",
    // GitHub's, for an expired or revoked refresh token.
    "bad_refresh_token",
    "token_revoked",
    "token_expired",
    "account_inactive",
];

/// POSTs a grant to a token endpoint, the client authenticated as the
/// entry says, and reads the answer as the entry says.
async fn grant(
    http: &reqwest::Client,
    url: &str,
    (client_auth, body): (ClientAuth, TokenBody),
    client: &OAuthClient,
    mut form: Vec<(&'static str, String)>,
) -> Result<Value, TokenError> {
    let mut request = http.post(url).header("accept", "application/json");
    match client_auth {
        ClientAuth::Basic => request = request.header("authorization", basic(client)),
        ClientAuth::Body => {
            form.push(("client_id", client.id.clone()));
            form.push(("client_secret", client.secret.clone()));
        }
    }
    let request = match body {
        TokenBody::Form => request.form(&form),
        TokenBody::Json => request.json(&form.into_iter().collect::<BTreeMap<_, _>>()),
    };
    let response = request
        .send()
        .await
        .map_err(|e| TokenError::Unavailable(without_url(e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| TokenError::Unavailable(without_url(e)))?;
    let answer: Option<Value> = serde_json::from_slice(&body).ok();
    // An OAuth error (RFC 6749 §5.2), whatever the status: GitHub answers
    // 200 with `error`, Slack 200 with `ok: false`.
    let oauth_error = answer.as_ref().and_then(|a| {
        a.get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| (a.get("ok") == Some(&Value::Bool(false))).then(|| "ok: false".into()))
    });
    match (status.as_u16(), oauth_error, answer) {
        // Only an answer that the grant itself is over is final (RFC 6749
        // §5.2, and Slack's names); a rate limit, a provider's trouble or
        // our app's misconfiguration (`invalid_client`) pass, and are
        // tried again, without breaking the person's connection.
        (_, Some(error), _)
            if (status.is_client_error() || status.is_success())
                && FINAL_ERRORS.contains(&error.as_str()) =>
        {
            Err(TokenError::Refused(error))
        }
        (_, Some(error), _) => Err(TokenError::Unavailable(format!("HTTP {status}: {error}"))),
        (200..=299, None, Some(answer)) if answer.is_object() => Ok(answer),
        (400 | 401 | 403, None, _) => Err(TokenError::Refused(format!("HTTP {status}"))),
        (status, ..) => Err(TokenError::Unavailable(format!("HTTP {status}"))),
    }
}

fn basic(client: &OAuthClient) -> String {
    // RFC 6749 §2.3.1: each part form-encoded, then joined.
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(&client.id), encode(&client.secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// A reqwest error's text without its URL (which may hold a token).
fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

fn pointer_text(answer: &Value, pointer: &str) -> Option<String> {
    match answer.pointer(pointer)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn read_tokens(
    oauth_fields: &catalogue::TokenResponse,
    separator: &str,
    answer: Value,
) -> Result<Tokens, TokenError> {
    let access_token = pointer_text(&answer, &oauth_fields.access_token)
        .ok_or_else(|| TokenError::Unavailable("the answer has no access token".into()))?;
    let expires_in = answer
        .pointer(&oauth_fields.expires_in)
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .filter(|seconds| *seconds > 0);
    let scopes = pointer_text(&answer, &oauth_fields.scope).map(|text| {
        // Providers differ (GitHub answers commas whatever was asked).
        text.split(|c: char| c == ',' || c == ' ' || separator.contains(c))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let kept = oauth_fields
        .keep
        .iter()
        .filter_map(|(name, pointer)| Some((name.clone(), pointer_text(&answer, pointer)?)))
        .collect();
    Ok(Tokens {
        access_token,
        refresh_token: pointer_text(&answer, &oauth_fields.refresh_token),
        expires_in,
        scopes,
        kept,
        answer,
    })
}

/// Trades an authorization code.
pub(crate) async fn exchange_code(
    http: &reqwest::Client,
    oauth: &OAuth2,
    client: &OAuthClient,
    params: &BTreeMap<String, String>,
    code: String,
    redirect_uri: &str,
    verifier: Option<String>,
) -> Result<Tokens, TokenError> {
    let url =
        catalogue::fill(&oauth.token_url, &values(params)).map_err(TokenError::Unavailable)?;
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", redirect_uri.to_owned()),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    let answer = grant(
        http,
        &url,
        (oauth.client_auth, oauth.token_body),
        client,
        form,
    )
    .await?;
    read_tokens(&oauth.token_response, &oauth.scope_separator, answer)
}

/// Uses a refresh token.
pub(crate) async fn refresh(
    http: &reqwest::Client,
    oauth: &OAuth2,
    client: &OAuthClient,
    params: &BTreeMap<String, String>,
    refresh_token: &str,
) -> Result<Tokens, TokenError> {
    let template = oauth.refresh_url.as_deref().unwrap_or(&oauth.token_url);
    let url = catalogue::fill(template, &values(params)).map_err(TokenError::Unavailable)?;
    let form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token.to_owned()),
    ];
    let answer = grant(
        http,
        &url,
        (oauth.client_auth, oauth.token_body),
        client,
        form,
    )
    .await?;
    read_tokens(&oauth.token_response, &oauth.scope_separator, answer)
}

/// The client credentials grant, with the person's own app.
pub(crate) async fn client_credentials(
    http: &reqwest::Client,
    auth: &catalogue::ClientCredentials,
    client: &OAuthClient,
    params: &BTreeMap<String, String>,
    scopes: &[String],
) -> Result<Tokens, TokenError> {
    let url = catalogue::fill(&auth.token_url, &values(params)).map_err(TokenError::Unavailable)?;
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    if !scopes.is_empty() {
        form.push(("scope", scopes.join(&auth.scope_separator)));
    }
    let answer = grant(
        http,
        &url,
        (auth.client_auth, TokenBody::Form),
        client,
        form,
    )
    .await?;
    read_tokens(
        &catalogue::TokenResponse::default(),
        &auth.scope_separator,
        answer,
    )
}

/// Tells the provider to forget the grant, when its entry says how. Best
/// effort: the caller deletes the connection whatever this answers.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    provider: &Provider,
    client: Option<&OAuthClient>,
    params: &BTreeMap<String, String>,
    credential: &Credential,
) -> Result<(), String> {
    let Auth::Oauth2(oauth) = &provider.auth else {
        return Ok(());
    };
    let (Some(revoke), Some(client), Some(access)) =
        (&oauth.revoke, client, credential.access_token.as_deref())
    else {
        return Ok(());
    };
    let token = credential.refresh_token.as_deref().unwrap_or(access);
    let encoded_token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let mut values = values(params);
    values.push(("client_id", &client.id));
    if revoke.style == RevokeStyle::Path {
        values.push(("token", &encoded_token));
    }
    let url = catalogue::fill(&revoke.url, &values)?;
    let request = match revoke.style {
        RevokeStyle::Form | RevokeStyle::Json => {
            let hint = if credential.refresh_token.is_some() {
                "refresh_token"
            } else {
                "access_token"
            };
            let mut form = vec![("token", token.to_owned())];
            let mut request = http.post(&url);
            if revoke.style == RevokeStyle::Form {
                form.push(("token_type_hint", hint.into()));
            }
            match oauth.client_auth {
                ClientAuth::Basic => request = request.header("authorization", basic(client)),
                ClientAuth::Body => {
                    form.push(("client_id", client.id.clone()));
                    form.push(("client_secret", client.secret.clone()));
                }
            }
            for (name, value) in &provider.request.headers {
                request = request.header(name, value);
            }
            if revoke.style == RevokeStyle::Form {
                request.form(&form)
            } else {
                request.json(&form.into_iter().collect::<BTreeMap<_, _>>())
            }
        }
        RevokeStyle::Bearer => http.post(&url).bearer_auth(access),
        RevokeStyle::BasicJsonDelete => http
            .delete(&url)
            .header("authorization", basic(client))
            .json(&serde_json::json!({ "access_token": access })),
        RevokeStyle::Path => http.delete(&url),
    };
    let response = request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(without_url)?;
    if response.status().is_success() || response.status().as_u16() == 404 {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

/// How a credential goes on a request: a header (name, value) or a query
/// parameter (name, value).
pub(crate) enum Placement {
    Header(String, String),
    Query(String, String),
}

/// Where the credential goes for `provider`.
pub(crate) fn placement(provider: &Provider, credential: &Credential) -> Option<Placement> {
    let request = &provider.request;
    let token = match &provider.auth {
        Auth::Basic(_) => STANDARD.encode(format!(
            "{}:{}",
            credential.key.as_deref()?,
            credential.secret.as_deref().unwrap_or_default()
        )),
        Auth::ApiKey(_) => credential.key.clone()?,
        Auth::Oauth2(_) | Auth::ClientCredentials(_) => credential.access_token.clone()?,
    };
    let placeholder = if matches!(provider.auth, Auth::Basic(_)) {
        "{basic}"
    } else {
        "{token}"
    };
    match (&request.header, &request.format, &request.query) {
        (Some(header), Some(format), _) => Some(Placement::Header(
            header.clone(),
            format.replace(placeholder, &token),
        )),
        (_, _, Some(query)) => Some(Placement::Query(query.clone(), token)),
        _ => None,
    }
}

/// Calls the identity endpoint (or reads the token answer) for the
/// account's stable id and name. `None` when the entry has no way to tell.
pub(crate) async fn identity(
    http: &reqwest::Client,
    provider: &Provider,
    params: &BTreeMap<String, String>,
    credential: &Credential,
    token_answer: Option<&Value>,
) -> Result<Option<(String, String)>, String> {
    let Some(identity) = &provider.identity else {
        return Ok(None);
    };
    let answer = match &identity.url {
        None => token_answer
            .cloned()
            .ok_or("no token answer to read the identity from")?,
        Some(template) => {
            let url = catalogue::fill(template, &values(params))?;
            let mut request = if identity.method == "POST" {
                http.post(&url)
            } else {
                http.get(&url)
            };
            request = request.header("accept", "application/json");
            for (name, value) in &provider.request.headers {
                request = request.header(name, value);
            }
            if let Some(body) = &identity.body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            request = match placement(provider, credential) {
                Some(Placement::Header(name, value)) => request.header(name, value),
                Some(Placement::Query(name, value)) => request.query(&[(name, value)]),
                None => return Err("no credential to call with".into()),
            };
            let response = request.send().await.map_err(without_url)?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("the identity call answered HTTP {status}"));
            }
            response
                .json::<Value>()
                .await
                .map_err(|_| "the identity call did not answer JSON".to_owned())?
        }
    };
    // Slack answers 200 with `ok: false` for a bad token.
    if answer.get("ok") == Some(&Value::Bool(false)) {
        return Err("the identity call answered ok: false".into());
    }
    let id = pointer_text(&answer, &identity.id).ok_or("the identity has no id")?;
    let name = pointer_text(&answer, &identity.name).unwrap_or_else(|| id.clone());
    Ok(Some((clip(&id, 200), clip(&name, 200))))
}

fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// Checks the values the person gave for the entry's `from = "user"`
/// params (filling defaults), and refuses any other.
pub(crate) fn user_params(
    provider: &Provider,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let declared: Vec<&Param> = provider
        .params
        .iter()
        .filter(|p| p.from == ParamFrom::User)
        .collect();
    if let Some(name) = given
        .keys()
        .find(|n| !declared.iter().any(|p| &p.name == *n))
    {
        return Err(format!("{} has no parameter {name:?}", provider.name));
    }
    let mut out = BTreeMap::new();
    for param in declared {
        let value = given
            .get(&param.name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .or_else(|| param.default.clone())
            .ok_or_else(|| format!("{} is needed", param.label))?;
        param_value(param, &value)?;
        out.insert(param.name.clone(), value);
    }
    Ok(out)
}

/// The entry's `from = "token"` params out of a token answer, each checked
/// like a person's value: a provider (or someone in its path) cannot point
/// the credential at a host outside the entry's suffixes.
pub(crate) fn token_params(
    provider: &Provider,
    tokens: &Tokens,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for param in provider
        .params
        .iter()
        .filter(|p| p.from == ParamFrom::Token)
    {
        let value = tokens
            .kept
            .get(&param.name)
            .ok_or_else(|| format!("the token answer has no {}", param.name))?;
        param_value(param, value)?;
        out.insert(param.name.clone(), value.trim_end_matches('/').to_owned());
    }
    Ok(out)
}

fn param_value(param: &Param, value: &str) -> Result<(), String> {
    catalogue::check_param_value(param, value).map_err(|m| format!("{}: {m}", param.label))
}
