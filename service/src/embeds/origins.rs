//! The sites an embed may be shown on: each allowed origin as its owner
//! wrote it, checked and kept in one form, matched against a page's origin,
//! and turned into the frame's `Content-Security-Policy: frame-ancestors`.

use crate::ServiceError;

/// Origins one embed may allow.
pub const MAX_ORIGINS: usize = 20;

/// One allowed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// `https://shop.example.com` (with a port when not 443).
    Exact(String),
    /// `https://*.example.com`: any subdomain of `example.com` over https
    /// (not `example.com` itself: list it too).
    Subdomains(String),
    /// `http://localhost`, `http://localhost:3000` or `http://localhost:*`
    /// (also `127.0.0.1`), only in development mode. `None`: any port.
    Local {
        host: &'static str,
        port: Option<u16>,
    },
}

impl Allowed {
    /// Reads one allowed origin; `development` admits the local ones.
    pub fn parse(text: &str, development: bool) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/').to_ascii_lowercase();
        if text.len() > 200 {
            return Err("is too long".to_owned());
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None if text.starts_with("*.") => ("https", text.as_str()),
            None => return Err("must start with https://".to_owned()),
        };
        if rest.contains(['/', '?', '#', '@', ' ']) || rest.is_empty() {
            return Err("must be an origin: a scheme and a host, no path".to_owned());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let local = match host {
            "localhost" => Some("localhost"),
            "127.0.0.1" => Some("127.0.0.1"),
            _ => None,
        };
        if let Some(local) = local {
            if !development {
                return Err(
                    "a local origin is allowed only in development mode (turn it on first)"
                        .to_owned(),
                );
            }
            if scheme != "http" && scheme != "https" {
                return Err("must start with http:// or https://".to_owned());
            }
            let port = match port {
                None | Some("*") => None,
                Some(port) => Some(parse_port(port)?),
            };
            return Ok(Self::Local { host: local, port });
        }
        if scheme != "https" {
            return Err("must be https (http only for localhost, in development mode)".to_owned());
        }
        let port = port.map(parse_port).transpose()?;
        let (wild, name) = match host.strip_prefix("*.") {
            Some(name) => (true, name),
            None => (false, host),
        };
        check_host(name)?;
        if wild && !name.contains('.') {
            return Err(
                "a wildcard must stand for subdomains of a domain with a dot, like *.example.com"
                    .to_owned(),
            );
        }
        let origin = match port {
            Some(port) if port != 443 => format!("https://{name}:{port}"),
            _ => format!("https://{name}"),
        };
        Ok(if wild {
            Self::Subdomains(origin)
        } else {
            Self::Exact(origin)
        })
    }

    /// The form it is kept in (and shown).
    pub fn text(&self) -> String {
        match self {
            Self::Exact(origin) => origin.clone(),
            Self::Subdomains(origin) => origin.replacen("https://", "https://*.", 1),
            Self::Local { host, port } => match port {
                Some(port) => format!("http://{host}:{port}"),
                None => format!("http://{host}:*"),
            },
        }
    }

    /// Whether a page on `origin` (as a browser serialises it: scheme,
    /// host, and the port when not the scheme's own) may show the embed.
    pub fn admits(&self, origin: &str) -> bool {
        match self {
            Self::Exact(allowed) => origin == allowed,
            Self::Subdomains(allowed) => {
                // `https://example.com[:port]` admits `https://<x>.example.com[:port]`.
                let Some(base) = allowed.strip_prefix("https://") else {
                    return false;
                };
                origin
                    .strip_prefix("https://")
                    .and_then(|rest| rest.strip_suffix(base))
                    .and_then(|sub| sub.strip_suffix('.'))
                    .is_some_and(|sub| {
                        !sub.is_empty() && sub.split('.').all(|label| check_label(label).is_ok())
                    })
            }
            Self::Local { host, port } => {
                let Some(rest) = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                else {
                    return false;
                };
                let (got_host, got_port) = match rest.rsplit_once(':') {
                    Some((got_host, got_port)) => (got_host, got_port.parse::<u16>().ok()),
                    None => (rest, None),
                };
                got_host == *host
                    && match port {
                        None => true,
                        Some(port) => got_port == Some(*port),
                    }
            }
        }
    }

    /// Its CSP source expression for `frame-ancestors`.
    pub fn source(&self) -> String {
        match self {
            Self::Local { host, port: None } => {
                format!("http://{host}:* https://{host}:* http://{host} https://{host}")
            }
            Self::Local {
                host,
                port: Some(port),
            } => format!("http://{host}:{port} https://{host}:{port}"),
            other => other.text(),
        }
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    port.parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("`{port}` is not a port"))
}

fn check_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{label}` is not a host name label"))
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.len() > 253 || !host.contains('.') {
        return Err("must name a host with a domain, like shop.example.com".to_owned());
    }
    host.split('.').try_for_each(check_label)
}

/// Reads an allow-list (1 to `MAX_ORIGINS`), without repeats.
pub fn parse_all(texts: &[String], development: bool) -> Result<Vec<Allowed>, ServiceError> {
    if texts.is_empty() || texts.len() > MAX_ORIGINS {
        return Err(ServiceError::invalid(
            "allowed_origins",
            format!("must list 1 to {MAX_ORIGINS} origins"),
        ));
    }
    let mut kept: Vec<Allowed> = Vec::new();
    for text in texts {
        let allowed = Allowed::parse(text, development).map_err(|problem| {
            ServiceError::invalid("allowed_origins", format!("`{text}` {problem}"))
        })?;
        if !kept.contains(&allowed) {
            kept.push(allowed);
        }
    }
    Ok(kept)
}

/// Reads an allow-list as stored (already checked; a local origin stored
/// while development mode was on is dropped once it is off).
pub fn stored(texts: &[String], development: bool) -> Vec<Allowed> {
    texts
        .iter()
        .filter_map(|text| Allowed::parse(text, development).ok())
        .collect()
}

/// Whether any of `allowed` admits `origin`.
pub fn admitted(allowed: &[Allowed], origin: &str) -> bool {
    allowed.iter().any(|allowed| allowed.admits(origin))
}

/// The `frame-ancestors` sources: the allowed origins, and this server's
/// own pages (the owner's live preview).
pub fn frame_ancestors(allowed: &[Allowed]) -> String {
    let mut sources = vec!["'self'".to_owned()];
    sources.extend(allowed.iter().map(Allowed::source));
    sources.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_in_one_form() {
        let exact = Allowed::parse("https://Shop.Example.com/", false).expect("ok");
        assert_eq!(exact.text(), "https://shop.example.com");
        assert_eq!(
            Allowed::parse("https://shop.example.com:443", false)
                .expect("ok")
                .text(),
            "https://shop.example.com"
        );
        let wild = Allowed::parse("*.example.com", false).expect("ok");
        assert_eq!(wild.text(), "https://*.example.com");
        assert!(Allowed::parse("http://shop.example.com", false).is_err());
        assert!(Allowed::parse("https://shop.example.com/path", false).is_err());
        assert!(Allowed::parse("https://*.com", false).is_err());
        assert!(Allowed::parse("https://user@shop.example.com", false).is_err());
        assert!(Allowed::parse("http://localhost:3000", false).is_err());
        let local = Allowed::parse("http://localhost:3000", true).expect("ok");
        assert_eq!(local.text(), "http://localhost:3000");
        assert_eq!(
            Allowed::parse("http://localhost:*", true)
                .expect("ok")
                .text(),
            "http://localhost:*"
        );
    }

    #[test]
    fn a_page_is_admitted_by_its_exact_origin_only() {
        let exact = Allowed::parse("https://shop.example.com", false).expect("ok");
        assert!(exact.admits("https://shop.example.com"));
        assert!(!exact.admits("https://shop.example.com:8443"));
        assert!(!exact.admits("http://shop.example.com"));
        assert!(!exact.admits("https://shop.example.com.evil.net"));
        let wild = Allowed::parse("https://*.example.com", false).expect("ok");
        assert!(wild.admits("https://a.example.com"));
        assert!(wild.admits("https://a.b.example.com"));
        assert!(!wild.admits("https://example.com"));
        assert!(!wild.admits("https://evilexample.com"));
        assert!(!wild.admits("https://a.example.com.evil.net"));
        assert!(!wild.admits("http://a.example.com"));
        let local = Allowed::parse("http://localhost:3000", true).expect("ok");
        assert!(local.admits("http://localhost:3000"));
        assert!(!local.admits("http://localhost:3001"));
        let any = Allowed::parse("http://localhost:*", true).expect("ok");
        assert!(any.admits("http://localhost:3001"));
        assert!(any.admits("http://localhost"));
        assert!(!any.admits("http://localhost.evil.net"));
        assert_eq!(
            frame_ancestors(&[exact, wild, local]),
            "'self' https://shop.example.com https://*.example.com \
             http://localhost:3000 https://localhost:3000"
        );
    }
}
