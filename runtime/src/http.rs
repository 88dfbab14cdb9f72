//! Outgoing HTTP for agents: only to hosts the manifest allows, redirects
//! included, with a timeout and a cap on the response body.

use crate::call_error::CallError;
use crate::limits::Capabilities;
use reqwest::{Method, Url};
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
/// is checked per request and per redirect.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl Fetcher {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("agentdeck-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { client, timeout }
    }

    pub async fn fetch(
        &self,
        grants: &Capabilities,
        request: Request,
        max_body: u64,
    ) -> Result<Response, CallError> {
        let method = match request.method.to_ascii_uppercase().as_str() {
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
        };
        let mut url = Url::parse(&request.url).map_err(|error| {
            CallError::Invalid(format!("{:?} is not an absolute URL: {error}", request.url))
        })?;
        let mut method = method;
        let mut body = request.body;
        for _ in 0..=MAX_REDIRECTS {
            check_allowed(grants, &url)?;
            let mut call = self
                .client
                .request(method.clone(), url.clone())
                .timeout(self.timeout);
            for (name, value) in &request.headers {
                if name.eq_ignore_ascii_case("host") {
                    continue;
                }
                call = call.header(name, value);
            }
            if let Some(body) = &body {
                call = call.body(body.clone());
            }
            let response = call.send().await.map_err(|error| {
                CallError::Failed(if error.is_timeout() {
                    format!("{} did not answer in time", host_of(&url))
                } else {
                    format!("{} could not be reached", host_of(&url))
                })
            })?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                let location = location.to_str().map_err(|_| {
                    CallError::Failed("a redirect had an unreadable Location".into())
                })?;
                url = url.join(location).map_err(|_| {
                    CallError::Failed(format!("a redirect went to {location:?}, not a URL"))
                })?;
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
