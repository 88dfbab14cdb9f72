//! `connections.fetch`: an agent calls a provider's API through the host,
//! which adds the credential of the connection the deployment bound. The
//! agent names a path (or a URL) under the provider's base URLs; nothing
//! else is reached, redirects included, and the credential never comes
//! back: the host refuses an agent's own credential header, and takes the
//! token out of whatever the provider answers (an echo endpoint, an error
//! that quotes the request).
//!
//! The server implements [`ConnectionBroker`]: which providers the run may
//! use, and the credential (refreshed when it expires, and after the
//! provider refuses it).

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

use crate::call_error::CallError;
use crate::http::{self, Fetcher, read_capped};

/// Redirects followed within the provider's base URLs.
const MAX_REDIRECTS: usize = 3;
/// The longest a rate-limited call waits before its one retry.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Where a credential goes on a request.
#[derive(Clone)]
pub enum Placement {
    Header { name: String, value: String },
    Query { name: String, value: String },
}

/// The provider's rate-limit headers (its catalogue entry).
#[derive(Clone, Debug, Default)]
pub struct RateLimitHeaders {
    pub retry_after: Option<String>,
    pub statuses: Vec<u16>,
}

/// What the host needs to call a provider for a run.
#[derive(Clone)]
pub struct Grant {
    /// The only places the credential goes: origins with optional path
    /// prefixes.
    pub base_urls: Vec<Url>,
    pub placement: Placement,
    /// Fixed headers (an API version) unless the agent sets them.
    pub headers: Vec<(String, String)>,
    /// Give back to [`ConnectionBroker::refused`] when the provider answers
    /// 401.
    pub version: i64,
    pub rate_limit: RateLimitHeaders,
    /// Secret strings to take out of answers (the token, its header value).
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("base_urls", &self.base_urls)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The server's side: the run's bound connections. Errors are messages for
/// the agent (the implementation logs its own details, never a token).
pub trait ConnectionBroker: Send + Sync {
    /// The providers the agent's manifest lists, bound or not.
    fn providers(&self) -> Vec<String>;
    /// The credential for `provider`, refreshed first if it is about to
    /// expire.
    fn grant<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, Result<Grant, CallError>>;
    /// The provider refused the credential of `version`: a fresh one, or
    /// `None` when refreshing would not help (a key; a refresh moments
    /// ago), and the provider's answer goes back to the agent as it is.
    fn refused<'a>(
        &'a self,
        provider: &'a str,
        version: i64,
    ) -> BoxFuture<'a, Result<Option<Grant>, CallError>>;
}

/// What the agent asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// `/user/repos`, relative to the first base URL, or an absolute URL
    /// under one of them.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Whether `url` is under `base`: the same origin, and the path at or
/// below the base's path on a segment boundary.
fn under(url: &Url, base: &Url) -> bool {
    if url.origin() != base.origin() || url.username() != "" || url.password().is_some() {
        return false;
    }
    let prefix = base.path().trim_end_matches('/');
    let path = url.path();
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The URL an agent's path names, if it is under one of the base URLs.
fn resolve(grant: &Grant, path: &str) -> Result<Url, CallError> {
    let first = grant
        .base_urls
        .first()
        .ok_or_else(|| CallError::Failed("the provider has no API base URL".into()))?;
    let url = if path.starts_with("https://") || path.starts_with("http://") {
        Url::parse(path).map_err(|e| CallError::Invalid(format!("{path:?} is not a URL: {e}")))?
    } else {
        if path.starts_with("//") || path.contains('\\') {
            return Err(CallError::Invalid(format!("{path:?} is not a path")));
        }
        let base = first.as_str().trim_end_matches('/');
        let path = if path.starts_with('/') || path.starts_with('?') || path.is_empty() {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Url::parse(&format!("{base}{path}"))
            .map_err(|e| CallError::Invalid(format!("{path:?} is not a path: {e}")))?
    };
    if grant.base_urls.iter().any(|base| under(&url, base)) {
        Ok(url)
    } else {
        Err(CallError::Denied(format!(
            "{url} is outside this provider's API ({}); the credential goes nowhere else",
            bases(grant)
        )))
    }
}

fn bases(grant: &Grant) -> String {
    grant
        .base_urls
        .iter()
        .map(Url::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Headers the host sets for a connection, or that would let an answer
/// come back in pieces (`Range`) or encoded (`Accept-Encoding`), where
/// searching it for the credential would miss it.
const HOST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "range",
    "if-range",
    "accept-encoding",
    "te",
    "connection",
    "upgrade",
    "transfer-encoding",
    "content-length",
    "expect",
];

/// Answer headers never handed to the agent: a provider's session
/// cookie is a credential too.
const HIDDEN_ANSWER_HEADERS: &[&str] = &["set-cookie", "set-cookie2"];

/// Takes every secret out of `text`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    // Six characters and up: anything shorter would mangle answers (and
    // grow them) more than it hides; keys are longer.
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "[redacted]");
        }
    }
    text
}

/// The agent's headers, checked: none may carry a credential of its own
/// (the host's would be overridden, or a token smuggled).
fn agent_headers(
    grant: &Grant,
    given: Vec<(String, String)>,
) -> Result<Vec<(HeaderName, HeaderValue)>, CallError> {
    let credential_header = match &grant.placement {
        Placement::Header { name, .. } => Some(name.to_ascii_lowercase()),
        Placement::Query { .. } => None,
    };
    let mut headers = Vec::with_capacity(given.len());
    for (name, value) in given {
        let lower = name.to_ascii_lowercase();
        if Some(&lower) == credential_header.as_ref() || HOST_HEADERS.contains(&lower.as_str()) {
            return Err(CallError::Invalid(format!(
                "the host sets {name} for a connection; leave it out"
            )));
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| CallError::Invalid(format!("{name:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            CallError::Invalid(format!("the value of {name} is not a valid header value"))
        })?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// Calls `provider` for the agent.
pub async fn fetch(
    broker: &dyn ConnectionBroker,
    fetcher: &Fetcher,
    provider: &str,
    request: Request,
    max_body: u64,
) -> Result<http::Response, CallError> {
    if !broker.providers().iter().any(|p| p == provider) {
        return Err(CallError::Denied(format!(
            "the manifest does not list a {provider} connection (capabilities.connections)"
        )));
    }
    let method = http::method(&request.method)?;
    let mut grant = broker.grant(provider).await?;
    let mut url = resolve(&grant, &request.path)?;
    let given = agent_headers(&grant, request.headers)?;
    let mut body = request.body;
    let mut method = method;
    let mut refreshed = false;
    let mut waited = false;
    let mut redirects = 0;
    loop {
        let mut headers = given.clone();
        for (name, value) in &grant.headers {
            if !headers
                .iter()
                .any(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            {
                headers.push((
                    HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| CallError::Failed("a bad fixed header".into()))?,
                    HeaderValue::from_str(value)
                        .map_err(|_| CallError::Failed("a bad fixed header".into()))?,
                ));
            }
        }
        let mut target = url.clone();
        match &grant.placement {
            Placement::Header { name, value } => {
                let mut value = HeaderValue::from_str(value).map_err(|_| {
                    CallError::Failed("the credential is not a header value".into())
                })?;
                value.set_sensitive(true);
                headers.push((
                    HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| CallError::Failed("a bad credential header".into()))?,
                    value,
                ));
            }
            Placement::Query { name, value } => {
                target.query_pairs_mut().append_pair(name, value);
            }
        }
        let response = fetcher
            .send_one(method.clone(), &target, &headers, body.as_deref())
            .await?;
        let status = response.status().as_u16();
        if status == 401 && !refreshed {
            refreshed = true;
            if let Some(fresh) = broker.refused(provider, grant.version).await? {
                grant = fresh;
                continue;
            }
        }
        if grant.rate_limit.statuses.contains(&status) && !waited {
            let wait = grant
                .rate_limit
                .retry_after
                .as_deref()
                .and_then(|name| response.headers().get(name))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if let Some(wait) = wait.filter(|w| *w <= LONGEST_WAIT) {
                waited = true;
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        if matches!(status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            let location = location
                .to_str()
                .map_err(|_| CallError::Failed("a redirect had an unreadable Location".into()))?;
            let next = url.join(location).map_err(|_| {
                CallError::Failed(format!(
                    "a redirect went to {:?}, not a URL",
                    redact(location, &grant.secrets)
                ))
            })?;
            if !grant.base_urls.iter().any(|base| under(&next, base)) {
                return Err(CallError::Denied(format!(
                    "{provider} redirected to {}, outside its API; not followed (the credential goes nowhere else)",
                    next.origin().ascii_serialization()
                )));
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(CallError::Failed(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            if status == 303 || (method == reqwest::Method::POST && matches!(status, 301 | 302)) {
                method = reqwest::Method::GET;
                body = None;
            }
            url = next;
            continue;
        }
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !HIDDEN_ANSWER_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_owned(),
                    redact(value.to_str().ok()?, &grant.secrets),
                ))
            })
            .collect();
        let bytes = read_capped(response, max_body)
            .await
            .map_err(|error| CallError::Limit(format!("the response from {provider} {error}")))?;
        return Ok(http::Response {
            status,
            headers,
            body: redact(&String::from_utf8_lossy(&bytes), &grant.secrets),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(bases: &[&str]) -> Grant {
        Grant {
            base_urls: bases.iter().map(|b| Url::parse(b).unwrap()).collect(),
            placement: Placement::Header {
                name: "Authorization".into(),
                value: "Bearer secret-token-1234".into(),
            },
            headers: Vec::new(),
            version: 1,
            rate_limit: RateLimitHeaders::default(),
            secrets: vec!["secret-token-1234".into()],
        }
    }

    #[test]
    fn paths_resolve_under_the_base_urls_only() {
        let g = grant(&["https://api.example.com/v1", "https://uploads.example.com"]);
        let ok = |p: &str| resolve(&g, p).map(|u| u.to_string());
        assert_eq!(
            ok("/users/me").unwrap(),
            "https://api.example.com/v1/users/me"
        );
        assert_eq!(
            ok("users?q=1").unwrap(),
            "https://api.example.com/v1/users?q=1"
        );
        assert_eq!(
            ok("https://uploads.example.com/x").unwrap(),
            "https://uploads.example.com/x"
        );
        assert_eq!(
            ok("https://api.example.com/v1").unwrap(),
            "https://api.example.com/v1"
        );
        for bad in [
            "https://api.example.com/v2/users",
            "https://api.example.com/v1x",
            "/../v2/users",
            "https://api.example.com.evil.example/v1",
            "http://api.example.com/v1/users",
            "https://api.example.com:8443/v1/users",
            "https://user@api.example.com/v1/users",
            "//evil.example/v1",
            "https://evil.example/v1",
        ] {
            assert!(resolve(&g, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn agents_may_not_set_a_credential_header() {
        let g = grant(&["https://api.example.com"]);
        for name in [
            "Authorization",
            "authorization",
            "Cookie",
            "Host",
            "Proxy-Authorization",
        ] {
            assert!(
                agent_headers(&g, vec![(name.into(), "x".into())]).is_err(),
                "{name}"
            );
        }
        assert!(agent_headers(&g, vec![("Accept".into(), "application/json".into())]).is_ok());
    }

    #[test]
    fn answers_lose_the_token() {
        assert_eq!(
            redact(
                "{\"authorization\":\"Bearer secret-token-1234\"}",
                &["secret-token-1234".into()]
            ),
            "{\"authorization\":\"Bearer [redacted]\"}"
        );
    }
}
