//! Dynamic client registration (RFC 7591), as MCP clients use it: anyone
//! may register (limited per address by the server), and a registration
//! grants nothing until a person approves it. Redirect addresses are
//! checked here once and matched exactly afterwards.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{OAuthError, SCOPE};
use crate::auth::tokens;
use crate::schema::oauth_clients;
use crate::{ServiceError, Services};
use types::oauth::{ClientRegistration, RegisteredClient};

const MAX_URI: usize = 2000;

/// Why `uri` cannot be a redirect address, if it cannot (RFC 8252 and the
/// MCP specification: https, http on a loopback host, or a native app's
/// own reverse-domain scheme; never a fragment).
fn redirect_problem(uri: &str) -> Option<&'static str> {
    if uri.len() > MAX_URI {
        return Some("is longer than 2000 characters");
    }
    if !uri.is_ascii() {
        return Some("must be ASCII (percent-encode the rest; hosts in punycode)");
    }
    if uri.contains('#') {
        return Some("may not have a fragment");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("may not contain spaces or control characters");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("is not an absolute URL");
    };
    match scheme {
        "https" => {
            let Some(host) = authority_host(rest) else {
                return Some("is not an absolute URL");
            };
            (host.is_empty()).then_some("has no host")
        }
        "http" => {
            let Some(host) = authority_host(rest) else {
                return Some("is not an absolute URL");
            };
            (!matches!(host, "localhost" | "127.0.0.1" | "[::1]"))
                .then_some("may use http only on localhost, 127.0.0.1 or [::1]")
        }
        scheme
            if scheme.contains('.')
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')) =>
        {
            None
        }
        _ => Some("must be https, http on a loopback address, or an app's reverse-domain scheme"),
    }
}

/// The host of `//host[:port]/…` (empty when it is not a plain ASCII
/// host: userinfo, percent-escapes, other scripts, anything after an IPv6
/// literal but a port); None when `rest` is no authority (the caller then
/// says so). The consent page shows this host as it is, so it must read
/// as what browsers go to.
fn authority_host(rest: &str) -> Option<&str> {
    let authority = rest.strip_prefix("//")?.split(['/', '?']).next()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if !authority.chars().all(plain) {
        return Some("");
    }
    Some(match authority.strip_prefix('[') {
        Some(v6) => match v6.find(']') {
            Some(end) if v6[end + 1..].is_empty() || v6[end + 1..].starts_with(':') => {
                &authority[..end + 2]
            }
            _ => "",
        },
        None => authority.split(':').next().unwrap_or_default(),
    })
}

/// Characters that change how text reads without showing (bidi controls,
/// zero-width ones), which a client name could use to pass for another.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{FEFF}')
        || ('\u{200B}'..='\u{200F}').contains(&c)
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2060}'..='\u{2069}').contains(&c)
}

/// Registers a client: 201 with its id (and secret, for a confidential
/// one), or `invalid_redirect_uri` / `invalid_client_metadata`.
pub async fn register(
    services: &Services,
    request: ClientRegistration,
    ip: &str,
) -> Result<RegisteredClient, OAuthError> {
    let invalid = |code, why: String| Err(OAuthError::new(code, why));
    if request.redirect_uris.is_empty() || request.redirect_uris.len() > 10 {
        return invalid("invalid_redirect_uri", "redirect_uris: give 1 to 10".into());
    }
    for uri in &request.redirect_uris {
        if let Some(problem) = redirect_problem(uri) {
            return invalid(
                "invalid_redirect_uri",
                format!("redirect_uris: {uri:?} {problem}"),
            );
        }
    }
    let method = request
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "none".to_owned());
    if !matches!(
        method.as_str(),
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return invalid(
            "invalid_client_metadata",
            "token_endpoint_auth_method: none, client_secret_basic or client_secret_post".into(),
        );
    }
    let grants = request
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".to_owned(), "refresh_token".to_owned()]);
    if grants
        .iter()
        .any(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return invalid(
            "invalid_client_metadata",
            "grant_types: authorization_code and refresh_token only".into(),
        );
    }
    if request
        .response_types
        .as_ref()
        .is_some_and(|types| types.iter().any(|t| t != "code"))
    {
        return invalid(
            "invalid_client_metadata",
            "response_types: code only".into(),
        );
    }
    let application_type = request
        .application_type
        .clone()
        .unwrap_or_else(|| "native".to_owned());
    if !matches!(application_type.as_str(), "native" | "web") {
        return invalid(
            "invalid_client_metadata",
            "application_type: native or web".into(),
        );
    }
    if request
        .scope
        .as_deref()
        .is_some_and(|scope| scope.split(' ').any(|s| !s.is_empty() && s != SCOPE))
    {
        return invalid(
            "invalid_client_metadata",
            "scope: the only scope is mcp".into(),
        );
    }
    let name: String = request
        .client_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("An MCP client")
        .chars()
        .filter(|c| !invisible(*c))
        .take(100)
        .collect();
    if name.trim().is_empty() || name.to_lowercase().contains("agentdeck") {
        return invalid(
            "invalid_client_metadata",
            "client_name: give the app's own name (it may not claim to be Agentdeck)".into(),
        );
    }
    let failed = |error: ServiceError| OAuthError::from_service(&error);
    let client_id = format!("mcp_client_{}", tokens::random(18).map_err(failed)?);
    let secret = if method == "none" {
        None
    } else {
        Some(format!(
            "mcp_secret_{}",
            tokens::random(32).map_err(failed)?
        ))
    };
    let mut conn = services.conn().await.map_err(failed)?;
    let created: chrono::DateTime<Utc> = diesel::insert_into(oauth_clients::table)
        .values((
            oauth_clients::client_id.eq(&client_id),
            oauth_clients::secret_hash.eq(secret.as_deref().map(tokens::digest)),
            oauth_clients::client_name.eq(&name),
            oauth_clients::redirect_uris.eq(&request.redirect_uris),
            oauth_clients::auth_method.eq(&method),
            oauth_clients::application_type.eq(&application_type),
            oauth_clients::registered_ip.eq(ip.chars().take(64).collect::<String>()),
        ))
        .returning(oauth_clients::created_at)
        .get_result(&mut conn)
        .await
        .map_err(|error| failed(error.into()))?;
    Ok(RegisteredClient {
        client_id,
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: created.timestamp(),
        client_name: name,
        redirect_uris: request.redirect_uris,
        token_endpoint_auth_method: method,
        grant_types: grants,
        response_types: vec!["code".to_owned()],
        application_type,
        scope: SCOPE.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::redirect_problem;

    #[test]
    fn redirect_addresses_are_https_loopback_or_an_apps_own() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:53682/callback",
            "http://localhost:8080/cb",
            "http://[::1]:9/cb",
            "com.example.app:/oauth",
            "cursor.anysphere://cb",
        ] {
            assert_eq!(redirect_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1@evil.example/cb",
            "https://a.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https:///nohost",
            "not a url",
            "/relative",
            "http:localhost/cb",
            "-.x:/../../settings",
            "http://[::1]evil.example/cb",
            "https://claude.ai%2eevil.example/cb",
            "https://xn--80ak6aa92e.com/cb\u{202E}",
            "https://аpple.com/cb",
        ] {
            assert!(redirect_problem(bad).is_some(), "{bad}");
        }
    }
}
