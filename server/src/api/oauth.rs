//! The OAuth 2.1 authorization server in front of `/mcp`
//! (`service::auth::oauth`), at the addresses MCP clients discover: the
//! protected-resource metadata (RFC 9728), the authorization-server
//! metadata (RFC 8414), registration (RFC 7591), authorization, tokens and
//! revocation (RFC 7009). Bodies and errors are OAuth's own
//! (`{"error", "error_description"}`), not the REST API's envelope; tokens
//! are answered with `Cache-Control: no-store`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use service::auth::RequestMeta;
use service::auth::oauth::{self, Authorize, AuthorizeRequest, OAuthError};
use types::oauth::{
    ClientRegistration, OAuthErrorBody, RegisteredClient, ResourceMetadata, RevokeRequest,
    ServerMetadata, TokenAnswer, TokenRequest,
};

use crate::client_addr::ClientAddr;
use crate::state::AppState;

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = OAuthErrorBody {
        error: error.code.to_owned(),
        error_description: error.description.clone(),
    };
    let mut response = no_store((status, axum::Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"agentdeck\""),
        );
    }
    response
}

/// Who calls, for the audit log.
fn caller_meta(client: Option<Extension<ClientAddr>>, headers: &HeaderMap) -> RequestMeta {
    RequestMeta::new(
        address(client),
        headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default(),
    )
}

fn address(client: Option<Extension<ClientAddr>>) -> String {
    client
        .map(|Extension(client)| client.text())
        .unwrap_or_default()
}

/// The refusal when this address is over its budget.
fn over_budget(state: &AppState, ip: &str) -> Option<Response> {
    state
        .limits
        .api(ip.parse().ok())
        .err()
        .map(IntoResponse::into_response)
}

fn resource_metadata(state: &AppState) -> ResourceMetadata {
    let issuer = oauth::issuer(&state.services);
    ResourceMetadata {
        resource: oauth::resource(&state.services),
        authorization_servers: vec![issuer.clone()],
        scopes_supported: vec![oauth::SCOPE.to_owned()],
        bearer_methods_supported: vec!["header".to_owned()],
        resource_name: "Agentdeck".to_owned(),
        resource_documentation: format!("{issuer}/docs/api"),
    }
}

/// What MCP clients learn of `/mcp`
///
/// The protected-resource metadata of `/mcp` (RFC 9728): the resource, its
/// authorization server and its one scope, `mcp`.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-protected-resource/mcp",
    tag = "mcp",
    operation_id = "mcp_resource_metadata",
    responses((status = 200, description = "The metadata", body = ResourceMetadata)),
    security(())
)]
pub async fn mcp_resource(State(state): State<AppState>) -> axum::Json<ResourceMetadata> {
    axum::Json(resource_metadata(&state))
}

/// The protected-resource metadata, at its root address
///
/// The same document as `/.well-known/oauth-protected-resource/mcp`, where
/// clients look when the path-inserted address is not found.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-protected-resource",
    tag = "mcp",
    operation_id = "resource_metadata",
    responses((status = 200, description = "The metadata", body = ResourceMetadata)),
    security(())
)]
pub async fn root_resource(State(state): State<AppState>) -> axum::Json<ResourceMetadata> {
    axum::Json(resource_metadata(&state))
}

/// The authorization server's metadata
///
/// RFC 8414: where to register, authorize, get and revoke tokens; PKCE with
/// S256 only; the one scope `mcp`.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "mcp",
    operation_id = "authorization_server_metadata",
    responses((status = 200, description = "The metadata", body = ServerMetadata)),
    security(())
)]
pub async fn server_metadata(State(state): State<AppState>) -> axum::Json<ServerMetadata> {
    let issuer = oauth::issuer(&state.services);
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let methods = strings(&["none", "client_secret_basic", "client_secret_post"]);
    axum::Json(ServerMetadata {
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        token_endpoint: format!("{issuer}/oauth/token"),
        registration_endpoint: format!("{issuer}/oauth/register"),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        scopes_supported: strings(&[oauth::SCOPE]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&["authorization_code", "refresh_token"]),
        token_endpoint_auth_methods_supported: methods.clone(),
        revocation_endpoint_auth_methods_supported: methods,
        code_challenge_methods_supported: strings(&["S256"]),
        authorization_response_iss_parameter_supported: true,
        client_id_metadata_document_supported: false,
        service_documentation: format!("{issuer}/docs/api"),
        issuer,
    })
}

/// Register a client
///
/// Dynamic client registration (RFC 7591) for MCP clients. Anyone may
/// register (within a budget per address); a client is granted nothing until
/// a person approves it. Redirect addresses: `https`, `http` on localhost,
/// 127.0.0.1 or [::1], or an app's reverse-domain scheme; matched exactly.
#[utoipa::path(
    post,
    path = "/oauth/register",
    tag = "mcp",
    operation_id = "register_oauth_client",
    request_body = ClientRegistration,
    responses(
        (status = 201, description = "Registered (a secret only for a confidential client)",
            body = RegisteredClient),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`",
            body = OAuthErrorBody),
    ),
    security(())
)]
pub async fn register(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let ip = address(client);
    if let Err(limited) = state.limits.oauth_register(ip.parse().ok()) {
        return limited.into_response();
    }
    let request: ClientRegistration = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(problem) => {
            return error(&OAuthError::new(
                "invalid_client_metadata",
                format!("the body must be a JSON client registration: {problem}"),
            ));
        }
    };
    match oauth::register(&state.services, request, &ip).await {
        Ok(client) => no_store((StatusCode::CREATED, axum::Json(client)).into_response()),
        Err(problem) => error(&problem),
    }
}

/// Start an authorization
///
/// Sends the person to the consent page (signing in first). Every error (an
/// unknown client, a redirect address it did not register, no PKCE with
/// S256, a scope other than `mcp`, another resource) is answered here with
/// an error page and never redirected: anyone may register a client, so only
/// a person's decision on the consent page sends the browser on.
#[utoipa::path(
    get,
    path = "/oauth/authorize",
    tag = "mcp",
    operation_id = "oauth_authorize",
    params(
        ("response_type" = Option<String>, Query, description = "`code`"),
        ("client_id" = Option<String>, Query, description = "From registration"),
        ("redirect_uri" = Option<String>, Query, description = "Exactly as registered"),
        ("state" = Option<String>, Query, description = "Returned as sent (at most 1000 characters)"),
        ("scope" = Option<String>, Query, description = "`mcp` (the default)"),
        ("code_challenge" = Option<String>, Query, description = "BASE64URL(SHA256(verifier))"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("resource" = Option<String>, Query, description = "`<public URL>/mcp` (RFC 8707)"),
    ),
    responses(
        (status = 302, description = "To the consent page"),
        (status = 400, description = "An error page naming the OAuth error and why",
            content_type = "text/html", body = String),
    ),
    security(())
)]
pub async fn authorize(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(limited) = over_budget(&state, &address(client)) {
        return limited;
    }
    let request: AuthorizeRequest =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let to = |location: String| {
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        no_store(response)
    };
    match oauth::authorize(&state.services, request).await {
        Ok(Authorize::Consent(id)) => to(format!("/oauth/consent?request={id}")),
        Ok(Authorize::Refused(why)) => refused_page(&why),
        Err(problem) => crate::error::AppError::from(problem).into_response(),
    }
}

fn refused_page(why: &str) -> Response {
    let escaped = why
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cannot \
         authorize</title></head><body><h1>This app cannot be authorized</h1><p>{escaped}</p>\
         <p>Nothing was shared. Ask the app's makers to register it again.</p></body></html>"
    );
    no_store((StatusCode::BAD_REQUEST, Html(page)).into_response())
}

/// `Authorization: Basic` client credentials (RFC 6749 § 2.3.1).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
            // The database's text holds no NUL: such an id is no client.
            .replace('\0', "")
    };
    Some((unescape(id), unescape(secret)))
}

fn form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    // The database's text holds no NUL character.
    if form_urlencoded::parse(body).any(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(OAuthError::new(
            "invalid_request",
            "the form may not contain the NUL character (%00)",
        ));
    }
    serde_urlencoded::from_bytes(body).map_err(|problem| {
        OAuthError::new(
            "invalid_request",
            format!("the body must be an application/x-www-form-urlencoded form: {problem}"),
        )
    })
}

/// Get tokens
///
/// `authorization_code` (with `code`, `redirect_uri`, `code_verifier`,
/// `client_id`, and `resource` when sent at authorization) or
/// `refresh_token`. Access tokens live 15 minutes and work only at `/mcp`;
/// each refresh token is used once and answered with a new one (a second use
/// revokes the approval).
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "mcp",
    operation_id = "oauth_token",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = TokenAnswer),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `invalid_target`, \
            `invalid_scope` or `unsupported_grant_type`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
    ),
    security(())
)]
pub async fn token(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let meta = caller_meta(client, &headers);
    if let Some(limited) = over_budget(&state, &meta.ip) {
        return limited;
    }
    let request: TokenRequest = match form(&body) {
        Ok(request) => request,
        Err(problem) => return error(&problem),
    };
    match oauth::exchange(&state.services, request, basic(&headers), &meta).await {
        Ok(tokens) => no_store(axum::Json(tokens).into_response()),
        Err(problem) => error(&problem),
    }
}

/// Revoke a token
///
/// RFC 7009: a refresh token ends its approval and every token made from
/// it; an access token ends itself. Answered 200 for a token that is
/// unknown or another client's too.
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    tag = "mcp",
    operation_id = "oauth_revoke",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or nothing to revoke)"),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
    ),
    security(())
)]
pub async fn revoke(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let meta = caller_meta(client, &headers);
    if let Some(limited) = over_budget(&state, &meta.ip) {
        return limited;
    }
    let request: RevokeRequest = match form(&body) {
        Ok(request) => request,
        Err(problem) => return error(&problem),
    };
    match oauth::revoke(&state.services, request, basic(&headers), &meta).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(problem) => error(&problem),
    }
}
