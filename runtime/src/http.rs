//! Outgoing HTTP for agents: only to hosts the manifest allows, redirects
//! included, with a timeout and a cap on the response body.

use crate::call_error::CallError;
use crate::limits::Capabilities;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, Url};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One client for every run (connection pools are shared); the allow-list
/// is checked per request and per redirect. Unless built with
/// [`Fetcher::allowing_private_networks`], it also refuses addresses that are
/// not public (loopback, private ranges, link-local such as cloud metadata
/// services), whatever name leads to them: an allowed host name whose DNS
/// answers point inside the platform's network gets nowhere.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    private_networks: bool,
}

impl Default for Fetcher {
    /// Public addresses only, 30 s per request; one shared client.
    fn default() -> Self {
        static PUBLIC: std::sync::OnceLock<Fetcher> = std::sync::OnceLock::new();
        PUBLIC
            .get_or_init(|| Self::new(Duration::from_secs(30)))
            .clone()
    }
}

impl Fetcher {
    /// Public addresses only.
    pub fn new(timeout: Duration) -> Self {
        Self::build(timeout, false)
    }

    /// Also loopback and private addresses: for local development, the
    /// command line with `--private-network`, and tests with local
    /// stand-ins.
    pub fn allowing_private_networks(timeout: Duration) -> Self {
        Self::build(timeout, true)
    }

    fn build(timeout: Duration, private_networks: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the public-address
            // check; agents' requests never go through one.
            .no_proxy()
            .user_agent(concat!("agentdeck-agent/", env!("CARGO_PKG_VERSION")));
        if !private_networks {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Self {
            client: builder.build().unwrap_or_default(),
            timeout,
            private_networks,
        }
    }

    pub async fn fetch(
        &self,
        grants: &Capabilities,
        request: Request,
        max_body: u64,
    ) -> Result<Response, CallError> {
        let method = method(&request.method)?;
        let mut url = Url::parse(&request.url).map_err(|error| {
            CallError::Invalid(format!("{:?} is not an absolute URL: {error}", request.url))
        })?;
        let mut headers = Vec::with_capacity(request.headers.len());
        for (name, value) in request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CallError::Invalid(format!("{name:?} is not a valid header name")))?;
            let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                CallError::Invalid(format!("the value of {name} is not a valid header value"))
            })?;
            if name != reqwest::header::HOST {
                headers.push((name, value));
            }
        }
        let mut method = method;
        let mut body = request.body;
        for _ in 0..=MAX_REDIRECTS {
            check_allowed(grants, &url)?;
            let response = self
                .send_one(method.clone(), &url, &headers, body.as_deref())
                .await?;
            let status = response.status();
            if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                let location = location.to_str().map_err(|_| {
                    CallError::Failed("a redirect had an unreadable Location".into())
                })?;
                let next = url.join(location).map_err(|_| {
                    CallError::Failed(format!("a redirect went to {location:?}, not a URL"))
                })?;
                if url.scheme() == "https" && next.scheme() == "http" {
                    return Err(CallError::Denied(format!(
                        "a redirect from https to plain http ({}) is not followed",
                        host_of(&next)
                    )));
                }
                // As browsers do: credentials stay with the origin they
                // were meant for.
                if next.origin() != url.origin() {
                    headers.retain(|(name, _)| {
                        ![
                            reqwest::header::AUTHORIZATION,
                            reqwest::header::COOKIE,
                            reqwest::header::PROXY_AUTHORIZATION,
                        ]
                        .contains(name)
                    });
                }
                url = next;
                // As browsers do: 303, and 301/302 after a POST, become GETs.
                if status == reqwest::StatusCode::SEE_OTHER
                    || (method == Method::POST && matches!(status.as_u16(), 301 | 302))
                {
                    method = Method::GET;
                    body = None;
                }
                continue;
            }
            let headers = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let bytes = read_capped(response, max_body).await.map_err(|error| {
                CallError::Limit(format!("the response from {} {error}", host_of(&url)))
            })?;
            return Ok(Response {
                status: status.as_u16(),
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Err(CallError::Failed(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }
}

impl Fetcher {
    /// One request to `url`, no redirect followed: to a public address
    /// unless this fetcher allows private networks.
    pub(crate) async fn send_one(
        &self,
        method: Method,
        url: &Url,
        headers: &[(reqwest::header::HeaderName, reqwest::header::HeaderValue)],
        body: Option<&str>,
    ) -> Result<reqwest::Response, CallError> {
        if !self.private_networks {
            check_public_literal(url)?;
        }
        let mut call = self
            .client
            .request(method, url.clone())
            .timeout(self.timeout);
        for (name, value) in headers {
            call = call.header(name.clone(), value.clone());
        }
        if let Some(body) = body {
            call = call.body(body.to_owned());
        }
        call.send().await.map_err(|error| {
            if is_not_public(&error) {
                return CallError::Denied(format!(
                    "{} resolves only to addresses that are not public",
                    host_of(url)
                ));
            }
            CallError::Failed(if error.is_timeout() {
                format!("{} did not answer in time", host_of(url))
            } else {
                format!("{} could not be reached", host_of(url))
            })
        })
    }
}

/// A request method an agent may use.
pub(crate) fn method(text: &str) -> Result<Method, CallError> {
    Ok(match text.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        "HEAD" => Method::HEAD,
        other => {
            return Err(CallError::Invalid(format!(
                "method {other:?} is not supported"
            )));
        }
    })
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

fn check_allowed(grants: &Capabilities, url: &Url) -> Result<(), CallError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CallError::Invalid(format!(
            "only http and https URLs can be fetched, not {}:",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| CallError::Invalid("the URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(0);
    if grants.http.is_empty() {
        return Err(CallError::Denied("http is not granted; list the hosts this agent may fetch under capabilities.http in its manifest".into()));
    }
    if !grants.allows_host(host, port, url.port().is_none()) {
        return Err(CallError::Denied(format!(
            "{} is not among the hosts this agent may fetch ({})",
            host_of(url),
            grants.http.join(", ")
        )));
    }
    Ok(())
}

/// The body, or an error once it passes `limit` bytes (without reading on).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(format!("is larger than the limit of {limit} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "was cut off".to_owned())?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!("is larger than the limit of {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Resolves names to their public addresses only.
struct PublicOnly;

/// A client builder with the sandbox's rules for where requests may go:
/// no proxy, no redirects, and, unless `private_networks`, names resolved
/// to their public addresses only, the connection made to an address that
/// was checked (no second lookup). Literal addresses in URLs are checked
/// with [`is_public`] by the caller.
pub fn outbound_client(private_networks: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if private_networks {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    }
}

/// Whether a request failed because its name has no public address.
pub fn failed_as_not_public(error: &reqwest::Error) -> bool {
    is_not_public(error)
}

/// The resolver's error when a name has no public address.
#[derive(Debug, thiserror::Error)]
#[error("no public address")]
struct NotPublic;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

fn is_not_public(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<NotPublic>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// An IP address in the URL itself never goes through the resolver.
fn check_public_literal(url: &Url) -> Result<(), CallError> {
    let address = match url.host() {
        Some(url::Host::Ipv4(address)) => IpAddr::V4(address),
        Some(url::Host::Ipv6(address)) => IpAddr::V6(address),
        _ => return Ok(()),
    };
    if is_public(address) {
        Ok(())
    } else {
        Err(CallError::Denied(format!(
            "{} is not a public address",
            host_of(url)
        )))
    }
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, shared, documentation, multicast or unspecified).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let first = segments[0];
            // Prefixes that carry an IPv4 address or an old private range:
            // NAT64 (64:ff9b::/32, which holds 64:ff9b::/96 and 64:ff9b:1::/48), 6to4 (2002::/16),
            // IPv4-compatible (::/96), site-local (fec0::/10).
            if (first == 0x0064 && segments[1] == 0xff9b)
                || first == 0x2002
                || (segments[..6].iter().all(|segment| *segment == 0))
                || (first & 0xffc0) == 0xfec0
            {
                return false;
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(
                is_public(public.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
                "{public}"
            );
        }
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::",
        ] {
            assert!(
                !is_public(inside.parse().unwrap_or(IpAddr::from([8, 8, 8, 8]))),
                "{inside}"
            );
        }
    }
}
