//! Who is calling, for every API request: middleware resolves the session
//! cookie into an `Actor` once and applies the CSRF rules; handlers and
//! server functions read the result (`Caller`) from the request.
//!
//! CSRF: a state-changing request from another site is refused outright
//! (`Origin` / `Sec-Fetch-Site`), and one authenticated by the session cookie
//! must also echo the session's token in `x-csrf-token`, which only pages of
//! this origin can read (from `GET /api/v1/me` or the sign-in answer).

use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use service::auth::{Actor, Caller, RequestMeta, api_keys, sessions};

use crate::error::AppError;
use crate::state::AppState;

pub const CSRF_HEADER: &str = "x-csrf-token";

/// How our cookies are named and flagged, from `AGENTDECK_PUBLIC_URL`: the
/// session, the short-lived cookie binding a GitHub sign-in flow to the
/// browser that started it, and the device cookie (`service::auth::devices`).
#[derive(Clone, Copy, Debug)]
pub struct CookieSettings {
    pub name: &'static str,
    pub flow_name: &'static str,
    /// Binds a connect flow (service::connections::flows) to its browser.
    pub connect_name: &'static str,
    /// The device cookie: this browser signed in to an account before.
    pub device_name: &'static str,
    pub secure: bool,
}

/// How long a browser has to come back from GitHub.
const FLOW_COOKIE_SECONDS: u64 = 600;

impl CookieSettings {
    pub fn new(https: bool) -> Self {
        // `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
        Self {
            name: if https {
                "__Host-agentdeck_session"
            } else {
                "agentdeck_session"
            },
            flow_name: if https {
                "__Host-agentdeck_oauth"
            } else {
                "agentdeck_oauth"
            },
            connect_name: if https {
                "__Host-agentdeck_connect"
            } else {
                "agentdeck_connect"
            },
            device_name: if https {
                "__Host-agentdeck_device"
            } else {
                "agentdeck_device"
            },
            secure: https,
        }
    }

    pub fn session(&self, token: &str, lifetime: Duration) -> HeaderValue {
        self.header(self.name, token, lifetime.as_secs())
    }

    pub fn cleared(&self) -> HeaderValue {
        self.header(self.name, "", 0)
    }

    pub fn flow(&self, token: &str) -> HeaderValue {
        self.header(self.flow_name, token, FLOW_COOKIE_SECONDS)
    }

    pub fn connect_flow(&self, token: &str) -> HeaderValue {
        self.header(self.connect_name, token, FLOW_COOKIE_SECONDS)
    }

    pub fn connect_flow_cleared(&self) -> HeaderValue {
        self.header(self.connect_name, "", 0)
    }

    pub fn connect_flow_token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookie(headers, self.connect_name)
    }

    /// Outlives sessions: a known device stays known for a year.
    pub fn device(&self, value: &str) -> HeaderValue {
        let year = u64::try_from(service::auth::devices::LIFETIME_DAYS * 86_400).unwrap_or(0);
        self.header(self.device_name, value, year)
    }

    /// The device cookie from the request's cookies.
    pub fn device_token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookie(headers, self.device_name)
    }

    pub fn flow_cleared(&self) -> HeaderValue {
        self.header(self.flow_name, "", 0)
    }

    fn header(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text =
            format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The session token from the request's cookies.
    pub fn token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookie(headers, self.name)
    }

    /// The sign-in flow token from the request's cookies.
    pub fn flow_token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookie(headers, self.flow_name)
    }
}

fn cookie<'h>(headers: &'h HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Server functions answer errors bare (the SPA's client reads that
    // shape); REST in its envelope.
    let refuse: fn(AppError) -> Response = if request.uri().path().starts_with("/api/fn/") {
        AppError::into_server_fn_response
    } else {
        <AppError as IntoResponse>::into_response
    };
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .map(|client| client.text())
        .unwrap_or_default();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(limited) = state.limits.api(ip.parse().ok()) {
        return refuse(limited);
    }
    let meta = RequestMeta::new(ip, user_agent);
    let mutation = !is_safe(request.method());
    if mutation && !crate::origin::is_same_origin(headers) {
        return refuse(AppError::Forbidden("cross-site requests are refused"));
    }
    // A bearer key wins over a cookie, and is exempt from CSRF: browsers
    // never attach it on their own.
    if let Some(token) = bearer(headers) {
        let actor = match api_keys::resolve(&state.services, token).await {
            Ok(actor) => actor,
            Err(error) => {
                let mut response = refuse(AppError::from(error));
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        };
        if let Some(key) = actor.key_id()
            && let Err(limited) = state.limits.api_key(key.0)
        {
            return refuse(limited);
        }
        request.extensions_mut().insert(Caller { actor, meta });
        return next.run(request).await;
    }
    let actor = match state.cookies.token(headers) {
        Some(token) => match sessions::resolve(&state.services, token).await {
            Ok(actor) => actor,
            Err(error) => return refuse(AppError::from(error)),
        },
        None => Actor::Anonymous,
    };
    if mutation && let Actor::Session { csrf_token, .. } = &actor {
        let sent = headers
            .get(CSRF_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !constant_time_eq(sent, csrf_token.as_bytes()) {
            return refuse(AppError::Forbidden(
                "missing or wrong x-csrf-token: send the token from GET /api/v1/me",
            ));
        }
    }
    request.extensions_mut().insert(Caller { actor, meta });
    next.run(request).await
}

/// The caller of a handler; anonymous where the middleware did not run.
pub struct CallerOf(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CallerOf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<Caller>()
                .cloned()
                .unwrap_or_else(Caller::anonymous),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_named_and_flagged_by_scheme() {
        let local = CookieSettings::new(false);
        let header = local.session("tok", Duration::from_secs(60));
        assert_eq!(
            header,
            "agentdeck_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        let public = CookieSettings::new(true);
        let header = public.session("tok", Duration::from_secs(60));
        assert_eq!(
            header,
            "__Host-agentdeck_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        let settings = CookieSettings::new(false);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; agentdeck_session=abc; x=y"),
        );
        assert_eq!(settings.token(&headers), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("agentdeck_session="),
        );
        assert_eq!(settings.token(&headers), None);
    }

    #[test]
    fn tokens_compare_in_full() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
