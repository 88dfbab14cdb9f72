//! Where deliveries may go: an `https://` or `http://` URL without
//! credentials whose host resolves to public addresses only (the sandbox's
//! rules, `runtime::http::is_public`), unless the operator allows private
//! ones (`AGENTDECK_WEBHOOKS_PRIVATE=1`, for development and tests). The
//! check here answers the person adding the endpoint; the delivery client
//! checks again at each connection, and connects to the address it checked.

use std::net::IpAddr;

use crate::ServiceError;

const MAX_URL: usize = 2000;
/// The longest a name's lookup may take while someone waits.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The URL, normalised, or why not (`url` is the field).
pub async fn check(url: &str, allow_private: bool) -> Result<String, ServiceError> {
    let bad = |why: &str| ServiceError::invalid("url", why.to_owned());
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(bad("must be at most 2,000 characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("must be an absolute URL"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(bad("must start with https:// (or http://)"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "must not hold a user name or password; use the signature to trust deliveries",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    let Some(host) = parsed.host() else {
        return Err(bad("must name a host"));
    };
    // As stored: normalising can lengthen it (non-ASCII is encoded).
    if parsed.as_str().chars().count() > MAX_URL {
        return Err(bad("must be at most 2,000 characters"));
    }
    if allow_private {
        return Ok(parsed.to_string());
    }
    let addresses: Vec<IpAddr> = match host {
        url::Host::Ipv4(address) => vec![IpAddr::V4(address)],
        url::Host::Ipv6(address) => vec![IpAddr::V6(address)],
        url::Host::Domain(name) => {
            let port = parsed.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((name, port));
            match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.map(|address| address.ip()).collect(),
                Ok(Err(_)) => return Err(bad(&format!("{name} does not resolve"))),
                Err(_) => return Err(bad(&format!("{name} did not resolve within 3 s"))),
            }
        }
    };
    if addresses.is_empty()
        || !addresses
            .iter()
            .all(|address| runtime::http::is_public(*address))
    {
        return Err(bad(
            "must resolve to public addresses only (not loopback, private or link-local ones)",
        ));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_and_odd_destinations_are_refused() {
        for (url, says) in [
            ("http://127.0.0.1:9000/hook", "public addresses"),
            ("http://[::1]/hook", "public addresses"),
            ("http://169.254.169.254/latest", "public addresses"),
            ("http://10.0.0.8/", "public addresses"),
            ("http://localhost:8080/", "public addresses"),
            ("ftp://example.com/", "https://"),
            ("https://user:pw@example.com/", "user name"),
            ("not a url", "absolute URL"),
        ] {
            let error = check(url, false).await.unwrap_err();
            assert!(error.to_string().contains(says), "{url}: {error}");
        }
        assert_eq!(
            check("http://127.0.0.1:9000/hook", true).await.unwrap(),
            "http://127.0.0.1:9000/hook"
        );
        assert!(check("https://8.8.8.8/hook", false).await.is_ok());
    }
}
