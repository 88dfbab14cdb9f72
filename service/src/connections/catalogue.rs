//! The provider catalogue: what Agentdeck knows about each service a
//! workspace can connect to, as data. One TOML file per provider in
//! `service/providers/` is compiled in; an operator adds or replaces entries
//! with files of the same form in `AGENTDECK_PROVIDERS_DIR`. The format is
//! described in docs/connections.md; every entry is checked here when the
//! server starts, so a bad entry stops the start with the file and field.
//!
//! Templates in URLs name a placeholder in braces: `{token}` (the access
//! token or key), `{basic}` (base64 of `user:password`), `{client_id}`, and
//! the entry's declared `params`. Nothing else is substituted.

use std::collections::BTreeMap;

use serde::Deserialize;

include!(concat!(env!("OUT_DIR"), "/providers.rs"));

/// Every provider known to this server, by id.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    providers: BTreeMap<String, Provider>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// The file's name without `.toml`: what manifests and URLs use.
    #[serde(skip)]
    pub id: String,
    pub name: String,
    pub description: String,
    pub categories: Vec<String>,
    pub icon: Icon,
    /// The day someone last checked this entry against `docs`.
    pub verified_on: chrono::NaiveDate,
    pub docs: Docs,
    pub auth: Auth,
    pub request: Request,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub rate_limit: RateLimit,
    pub identity: Option<Identity>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Icon {
    /// One to three letters on a coloured tile (no third-party logos).
    pub letters: String,
    /// `#rrggbb`.
    pub background: String,
}

/// The provider's own documentation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    /// How its authorization (or key) works.
    pub auth: String,
    /// Its API reference.
    pub api: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// The authorization code grant, the person signing in at the provider.
    Oauth2(Box<OAuth2>),
    /// The client credentials grant, with the client id and secret the
    /// person connecting enters (their own app at the provider).
    ClientCredentials(ClientCredentials),
    /// A key the person pastes.
    ApiKey(ApiKey),
    /// A user name and password (or key and secret) the person enters.
    Basic(Basic),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    pub authorize_url: String,
    pub token_url: String,
    /// Where refresh grants go when not `token_url`.
    pub refresh_url: Option<String>,
    pub revoke: Option<Revoke>,
    pub pkce: Pkce,
    pub client_auth: ClientAuth,
    /// How grants are posted to the token endpoint.
    #[serde(default)]
    pub token_body: TokenBody,
    #[serde(default = "space")]
    pub scope_separator: String,
    /// The authorize URL's parameter for scopes.
    #[serde(default = "scope_param")]
    pub scope_param: String,
    /// Always asked for (identity, refresh).
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// Every scope a manifest may ask for, with what it lets an agent do
    /// (shown on the consent screen).
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// Extra query parameters of the authorize URL.
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
    /// JSON pointers into the token response.
    #[serde(default)]
    pub token_response: TokenResponse,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentials {
    pub token_url: String,
    pub client_auth: ClientAuth,
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<Scope>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// What the form calls it ("Secret key").
    pub label: String,
    /// Where the person finds or makes one.
    pub help_url: String,
    /// Prefixes a key must start with, when the provider has them.
    #[serde(default)]
    pub prefixes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basic {
    pub username_label: String,
    pub password_label: String,
    pub help_url: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponse {
    #[serde(default = "access_pointer")]
    pub access_token: String,
    #[serde(default = "refresh_pointer")]
    pub refresh_token: String,
    #[serde(default = "expires_pointer")]
    pub expires_in: String,
    #[serde(default = "scope_pointer")]
    pub scope: String,
    /// Non-secret fields kept with the connection (team id, instance URL),
    /// by name: a pointer each. A `params` entry with `from = "token"` reads
    /// its value from here.
    #[serde(default)]
    pub keep: BTreeMap<String, String>,
}

impl Default for TokenResponse {
    fn default() -> Self {
        Self {
            access_token: access_pointer(),
            refresh_token: refresh_pointer(),
            expires_in: expires_pointer(),
            scope: scope_pointer(),
            keep: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Pkce {
    /// The provider refuses a code exchange without a verifier.
    Required,
    /// Checked when sent; we always send it.
    Supported,
    /// Not understood by the provider.
    None,
}

/// How the client id and secret reach the token endpoint.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic` (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Body,
}

/// How a grant is posted.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    #[default]
    Form,
    /// A JSON object of the same fields (Notion).
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    pub url: String,
    pub style: RevokeStyle,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RevokeStyle {
    /// RFC 7009: POST `token=` (the refresh token when there is one), with
    /// the client authenticated as at the token endpoint.
    Form,
    /// POST `{"token": …}` as JSON, the client authenticated as at the
    /// token endpoint (Notion).
    Json,
    /// POST with the access token as the bearer (Slack's `auth.revoke`).
    Bearer,
    /// DELETE with the client as Basic credentials and
    /// `{"access_token": …}` as the body (GitHub's grant API).
    BasicJsonDelete,
    /// DELETE of `url` with `{token}` (the refresh token) in its path.
    Path,
}

/// How a request carries the credential, and where it may go.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The header that carries it (`Authorization`), with `format`.
    pub header: Option<String>,
    /// `Bearer {token}`, `token {token}`, `Basic {basic}`.
    pub format: Option<String>,
    /// Or a query parameter holding the token.
    pub query: Option<String>,
    /// Headers every request gets (an API version), unless the agent set
    /// them.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The only places the credential is sent: an origin with an optional
    /// path prefix each. A request anywhere else is refused, redirects
    /// included.
    pub base_urls: Vec<String>,
}

/// A value a connection has besides its credential: asked of the person
/// (`from = "user"`, a Microsoft tenant) or read from the token response
/// (`from = "token"`, Salesforce's instance URL).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    pub label: String,
    pub from: ParamFrom,
    pub kind: ParamKind,
    pub default: Option<String>,
    /// For `kind = "origin"`: the host must end with one of these.
    #[serde(default)]
    pub host_suffixes: Vec<String>,
    /// A value that passes, for docs and for checking templates.
    pub example: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamFrom {
    User,
    Token,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Letters, digits, `-`, `.` and `_`: a tenant, a subdomain, an id.
    Label,
    /// `https://host` whose host ends with one of `host_suffixes`.
    Origin,
}

/// The provider's rate-limit headers, honoured by the host.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Seconds to wait (`Retry-After`).
    pub retry_after: Option<String>,
    /// Requests left in the window.
    pub remaining: Option<String>,
    /// When the window resets, in `reset_unit`.
    pub reset: Option<String>,
    pub reset_unit: Option<ResetUnit>,
    /// Statuses that mean "slow down" (429, and 403 for GitHub).
    #[serde(default)]
    pub statuses: Vec<u16>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResetUnit {
    EpochSeconds,
    EpochMillis,
    Seconds,
    /// Go-style durations: `1m30s`, `250ms`.
    Duration,
}

/// How to learn who a connection is, shown as "Connected as …".
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Called with the credential; absent means read from the token
    /// response.
    pub url: Option<String>,
    #[serde(default = "get")]
    pub method: String,
    /// A JSON body (a GraphQL query).
    pub body: Option<String>,
    /// JSON pointers to a stable id and a name to show.
    pub id: String,
    pub name: String,
}

fn space() -> String {
    " ".to_owned()
}
fn scope_param() -> String {
    "scope".to_owned()
}
fn access_pointer() -> String {
    "/access_token".to_owned()
}
fn refresh_pointer() -> String {
    "/refresh_token".to_owned()
}
fn expires_pointer() -> String {
    "/expires_in".to_owned()
}
fn scope_pointer() -> String {
    "/scope".to_owned()
}
fn get() -> String {
    "GET".to_owned()
}

/// Why an entry was refused: the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("provider {file}: {message}")]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

impl Catalogue {
    /// The compiled-in entries.
    pub fn built_in() -> Result<Self, CatalogueError> {
        let mut catalogue = Self::default();
        for (id, text) in BUILT_IN {
            catalogue.add(id, text, Origin::BuiltIn)?;
        }
        Ok(catalogue)
    }

    /// The compiled-in entries, then every `*.toml` in `dir` (adding, or
    /// replacing an entry of the same name).
    pub fn with_dir(dir: &std::path::Path) -> Result<Self, CatalogueError> {
        let mut catalogue = Self::built_in()?;
        let unreadable = |error: std::io::Error| CatalogueError {
            file: dir.display().to_string(),
            message: format!("cannot be read: {error}"),
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(unreadable)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(unreadable)?;
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            catalogue.add(&id, &text, Origin::Operator)?;
        }
        Ok(catalogue)
    }

    fn add(&mut self, id: &str, text: &str, origin: Origin) -> Result<(), CatalogueError> {
        let provider = parse(id, text, origin).map_err(|message| CatalogueError {
            file: format!("{id}.toml"),
            message,
        })?;
        self.providers.insert(id.to_owned(), provider);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }

    pub fn len(&self) -> usize {
        self.providers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

/// Where an entry came from: an operator's own entries may use plain
/// `http://` to a loopback host (development, tests); built-in ones never.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    BuiltIn,
    Operator,
}

/// Parses and checks one entry.
fn parse(id: &str, text: &str, origin: Origin) -> Result<Provider, String> {
    let valid_id = (2..=40).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_id {
        return Err("the file name must be 2-40 of a-z, 0-9 and -, starting with a letter".into());
    }
    let mut provider: Provider = toml::from_str(text).map_err(|error| error.to_string())?;
    provider.id = id.to_owned();
    check(&provider, origin)?;
    Ok(provider)
}

fn check(p: &Provider, origin: Origin) -> Result<(), String> {
    let text = |field: &str, value: &str, max: usize| {
        if value.trim().is_empty() || value.chars().count() > max {
            Err(format!("{field} must be 1 to {max} characters"))
        } else {
            Ok(())
        }
    };
    text("name", &p.name, 60)?;
    text("description", &p.description, 200)?;
    if p.categories.is_empty() {
        return Err("categories must name at least one".into());
    }
    let letters_ok = (1..=3).contains(&p.icon.letters.chars().count())
        && p.icon.letters.chars().all(|c| c.is_ascii_alphanumeric());
    if !letters_ok {
        return Err("icon.letters must be 1 to 3 letters or digits".into());
    }
    let colour_ok = p.icon.background.len() == 7
        && p.icon.background.starts_with('#')
        && p.icon.background[1..]
            .chars()
            .all(|c| c.is_ascii_hexdigit());
    if !colour_ok {
        return Err("icon.background must be #rrggbb".into());
    }
    // Documentation is always the provider's public site.
    https_url("docs.auth", &p.docs.auth, &[], Origin::BuiltIn)?;
    https_url("docs.api", &p.docs.api, &[], Origin::BuiltIn)?;

    let mut names: Vec<&str> = Vec::new();
    for param in &p.params {
        let ok = !param.name.is_empty()
            && param.name.len() <= 30
            && param
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_');
        if !ok || ["token", "basic", "client_id"].contains(&param.name.as_str()) {
            return Err(format!("params: {:?} is not a usable name", param.name));
        }
        text("params.label", &param.label, 60)?;
        check_param_value(param, &param.example)
            .map_err(|m| format!("params.{}.example: {m}", param.name))?;
        if let Some(default) = &param.default {
            check_param_value(param, default)
                .map_err(|m| format!("params.{}.default: {m}", param.name))?;
        }
        if param.kind == ParamKind::Origin && param.host_suffixes.is_empty() {
            return Err(format!(
                "params.{}: an origin needs host_suffixes",
                param.name
            ));
        }
        names.push(&param.name);
    }
    let examples: Vec<(&str, &str)> = p
        .params
        .iter()
        .map(|param| (param.name.as_str(), param.example.as_str()))
        .collect();

    let scopes_ok = |defaults: &[String], scopes: &[Scope], separator: &str| {
        if separator.is_empty() || separator.len() > 3 {
            return Err("scope_separator must be 1 to 3 characters".to_owned());
        }
        for scope in scopes {
            if scope.name.is_empty() || scope.name.contains(separator) {
                return Err(format!("scopes: {:?} is not a usable scope", scope.name));
            }
            text("scopes.description", &scope.description, 200)?;
        }
        for scope in defaults {
            if !scopes.iter().any(|s| &s.name == scope) {
                return Err(format!(
                    "default_scopes: {scope:?} must be listed in scopes too"
                ));
            }
        }
        Ok(())
    };
    let user_params = p.params.iter().filter(|q| q.from == ParamFrom::User);
    let user_examples: Vec<(&str, &str)> = user_params
        .map(|q| (q.name.as_str(), q.example.as_str()))
        .collect();
    let token_in_request = match &p.auth {
        Auth::Oauth2(o) => {
            https_url(
                "auth.authorize_url",
                &o.authorize_url,
                &user_examples,
                origin,
            )?;
            https_url("auth.token_url", &o.token_url, &user_examples, origin)?;
            if let Some(url) = &o.refresh_url {
                https_url("auth.refresh_url", url, &user_examples, origin)?;
            }
            if let Some(revoke) = &o.revoke {
                let mut with = examples.clone();
                with.push(("client_id", "client"));
                if revoke.style == RevokeStyle::Path {
                    if !revoke.url.contains("{token}") {
                        return Err("auth.revoke: style path needs {token} in the url".into());
                    }
                    with.push(("token", "token"));
                }
                https_url("auth.revoke.url", &revoke.url, &with, origin)?;
            }
            scopes_ok(&o.default_scopes, &o.scopes, &o.scope_separator)?;
            for (name, value) in &o.authorize_params {
                let reserved = [
                    "client_id",
                    "redirect_uri",
                    "response_type",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                    o.scope_param.as_str(),
                ];
                if reserved.contains(&name.as_str()) || value.is_empty() {
                    return Err(format!(
                        "auth.authorize_params: {name} is set by the server"
                    ));
                }
            }
            let t = &o.token_response;
            for (field, pointer) in [
                ("access_token", &t.access_token),
                ("refresh_token", &t.refresh_token),
                ("expires_in", &t.expires_in),
                ("scope", &t.scope),
            ] {
                json_pointer(&format!("auth.token_response.{field}"), pointer)?;
            }
            for (name, pointer) in &t.keep {
                json_pointer(&format!("auth.token_response.keep.{name}"), pointer)?;
            }
            for param in p.params.iter().filter(|q| q.from == ParamFrom::Token) {
                if !t.keep.contains_key(&param.name) {
                    return Err(format!(
                        "params.{}: from = \"token\" needs auth.token_response.keep.{0}",
                        param.name
                    ));
                }
            }
            "{token}"
        }
        Auth::ClientCredentials(c) => {
            https_url("auth.token_url", &c.token_url, &user_examples, origin)?;
            scopes_ok(&c.default_scopes, &c.scopes, &c.scope_separator)?;
            "{token}"
        }
        Auth::ApiKey(k) => {
            text("auth.label", &k.label, 60)?;
            https_url("auth.help_url", &k.help_url, &[], Origin::BuiltIn)?;
            "{token}"
        }
        Auth::Basic(b) => {
            text("auth.username_label", &b.username_label, 60)?;
            text("auth.password_label", &b.password_label, 60)?;
            https_url("auth.help_url", &b.help_url, &[], Origin::BuiltIn)?;
            "{basic}"
        }
    };
    if !matches!(p.auth, Auth::Oauth2(_)) && p.params.iter().any(|q| q.from == ParamFrom::Token) {
        return Err("params: from = \"token\" needs an oauth2 provider".into());
    }

    let r = &p.request;
    match (&r.header, &r.format, &r.query) {
        (Some(header), Some(format), None) => {
            header_name("request.header", header)?;
            if format.matches(token_in_request).count() != 1
                || format
                    .replace(token_in_request, "")
                    .contains(['{', '}', '\r', '\n'])
            {
                return Err(format!(
                    "request.format must hold {token_in_request} once and no other placeholder"
                ));
            }
        }
        (None, None, Some(query)) => {
            if query.is_empty() || !query.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err("request.query must be a parameter name".into());
            }
            if token_in_request != "{token}" {
                return Err("request.query carries a token, not basic credentials".into());
            }
        }
        _ => return Err("request needs header and format, or query".into()),
    }
    for (name, value) in &r.headers {
        header_name("request.headers", name)?;
        if value.is_empty() || value.contains(['{', '}', '\r', '\n']) {
            return Err(format!("request.headers.{name}: a plain value"));
        }
    }
    if r.base_urls.is_empty() {
        return Err("request.base_urls must list at least one".into());
    }
    for base in &r.base_urls {
        let url = https_url("request.base_urls", base, &examples, origin)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("request.base_urls: {base} has a query or fragment"));
        }
        // A templated base must be the whole origin of a declared origin
        // param, never a host built from pieces.
        if base.contains('{') {
            let whole = p.params.iter().any(|q| {
                q.kind == ParamKind::Origin && base.starts_with(&format!("{{{}}}", q.name))
            });
            if !whole {
                return Err(format!(
                    "request.base_urls: {base} may only start with an origin param"
                ));
            }
        }
    }

    if let Some(rl) = &p.rate_limit.retry_after {
        header_name("rate_limit.retry_after", rl)?;
    }
    if let Some(h) = &p.rate_limit.remaining {
        header_name("rate_limit.remaining", h)?;
    }
    if let Some(h) = &p.rate_limit.reset {
        header_name("rate_limit.reset", h)?;
        if p.rate_limit.reset_unit.is_none() {
            return Err("rate_limit.reset needs reset_unit".into());
        }
    }
    if p.rate_limit
        .statuses
        .iter()
        .any(|s| !(400..=599).contains(s))
    {
        return Err("rate_limit.statuses must be 4xx or 5xx".into());
    }

    if let Some(identity) = &p.identity {
        if let Some(url) = &identity.url {
            https_url("identity.url", url, &examples, origin)?;
        } else if !matches!(p.auth, Auth::Oauth2(_)) {
            return Err("identity without url reads the token response: oauth2 only".into());
        }
        if !["GET", "POST"].contains(&identity.method.as_str()) {
            return Err("identity.method must be GET or POST".into());
        }
        if let Some(body) = &identity.body {
            serde_json::from_str::<serde_json::Value>(body)
                .map_err(|e| format!("identity.body is not JSON: {e}"))?;
        }
        json_pointer("identity.id", &identity.id)?;
        json_pointer("identity.name", &identity.name)?;
    }
    let _ = names;
    Ok(())
}

pub(crate) fn check_param_value(param: &Param, value: &str) -> Result<(), String> {
    match param.kind {
        ParamKind::Label => {
            let ok = !value.is_empty()
                && value.len() <= 100
                && !value.starts_with(['.', '-'])
                && !value.contains("..")
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{value:?} is not letters, digits, '-', '.' and '_'"
                ))
            }
        }
        ParamKind::Origin => origin_value(value, &param.host_suffixes).map(|_| ()),
    }
}

/// Checks an `https://host` value against the allowed host suffixes.
pub(crate) fn origin_value(value: &str, suffixes: &[String]) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let bare = url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && !value.trim_end_matches('/').ends_with('.');
    if !bare {
        return Err(format!("{value:?} must be https://host and nothing else"));
    }
    let under = suffixes.iter().any(|suffix| {
        host.len() > suffix.len() && host.ends_with(suffix.as_str()) && suffix.starts_with('.')
    });
    if !under {
        return Err(format!("{host} is not under {}", suffixes.join(" or ")));
    }
    Ok(url)
}

/// Fills `{name}` placeholders; an unknown one is an error, so a template
/// can never pass a brace through.
pub fn fill(template: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{template}: an unclosed {{"))?;
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("{template}: {{{name}}} is not a known placeholder"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err(format!("{template}: a stray }}"));
    }
    out.push_str(rest);
    Ok(out)
}

fn https_url(
    field: &str,
    template: &str,
    values: &[(&str, &str)],
    origin: Origin,
) -> Result<url::Url, String> {
    let filled = fill(template, values).map_err(|m| format!("{field}: {m}"))?;
    let url = url::Url::parse(&filled).map_err(|e| format!("{field}: {template}: {e}"))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    let scheme_ok = url.scheme() == "https"
        || (url.scheme() == "http" && loopback && origin == Origin::Operator);
    if !scheme_ok || url.host_str().is_none() {
        return Err(format!("{field}: {template} must be an https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{field}: {template} must not hold credentials"));
    }
    Ok(url)
}

fn json_pointer(field: &str, pointer: &str) -> Result<(), String> {
    if pointer.starts_with('/') && pointer.len() > 1 {
        Ok(())
    } else {
        Err(format!(
            "{field}: {pointer:?} must be a JSON pointer (/a/b)"
        ))
    }
}

fn header_name(field: &str, name: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| format!("{field}: {name:?} is not a header name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_entry_parses_and_is_checked() {
        let catalogue = Catalogue::built_in().expect("the built-in catalogue is valid");
        assert_eq!(catalogue.len(), BUILT_IN.len());
        for provider in catalogue.iter() {
            assert!(
                provider.docs.auth.starts_with("https://"),
                "{}",
                provider.id
            );
            assert!(provider.docs.api.starts_with("https://"), "{}", provider.id);
            for base in &provider.request.base_urls {
                assert!(
                    base.starts_with("https://") || base.starts_with('{'),
                    "{}: {base}",
                    provider.id
                );
            }
        }
    }

    #[test]
    fn the_first_twelve_are_there() {
        let catalogue = Catalogue::built_in().unwrap();
        for id in [
            "github",
            "google",
            "microsoft",
            "slack",
            "discord",
            "notion",
            "linear",
            "hubspot",
            "salesforce",
            "airtable",
            "stripe",
            "openai",
        ] {
            assert!(catalogue.get(id).is_some(), "{id} is missing");
        }
    }

    fn github() -> String {
        BUILT_IN
            .iter()
            .find(|(id, _)| *id == "github")
            .unwrap()
            .1
            .to_owned()
    }

    #[test]
    fn a_built_in_entry_may_not_send_tokens_over_plain_http() {
        let text = github().replace("\"https://api.github.com\",", "\"http://127.0.0.1:9\",");
        let error = parse("github", &text, Origin::BuiltIn).unwrap_err();
        assert!(error.contains("request.base_urls"), "{error}");
        // An operator's own entry may, to loopback only.
        parse("github", &text, Origin::Operator).unwrap();
        let text = github().replace("\"https://api.github.com\",", "\"http://10.0.0.1\",");
        assert!(parse("github", &text, Origin::Operator).is_err());
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("name = \"GitHub\"", "name = \"\"", "name"),
            ("kind = \"oauth2\"", "kind = \"oauth3\"", "oauth3"),
            (
                "format = \"Bearer {token}\"",
                "format = \"Bearer\"",
                "request.format",
            ),
            (
                "format = \"Bearer {token}\"",
                "format = \"Bearer {token} {tenant}\"",
                "request.format",
            ),
            (
                "default_scopes = [\"read:user\"]",
                "default_scopes = [\"admin\"]",
                "default_scopes",
            ),
            (
                "background = \"#24292f\"",
                "background = \"red\"",
                "icon.background",
            ),
            (
                "reset_unit = \"epoch_seconds\"",
                "reset_unit = \"days\"",
                "days",
            ),
            (
                "statuses = [403, 429]",
                "statuses = [200]",
                "rate_limit.statuses",
            ),
            ("id = \"/id\"", "id = \"id\"", "identity.id"),
            (
                "categories = [\"developer-tools\"]",
                "colour = 1\ncategories = []",
                "colour",
            ),
            (
                "{client_id}/token",
                "{secret}/token",
                "{secret} is not a known placeholder",
            ),
        ];
        for (from, to, expected) in cases {
            let text = github().replacen(from, to, 1);
            assert_ne!(text, github(), "{from} is in github.toml");
            let error = parse("github", &text, Origin::BuiltIn).unwrap_err();
            assert!(error.contains(expected), "{to}: {error}");
        }
        assert!(parse("GitHub", &github(), Origin::BuiltIn).is_err());
    }

    #[test]
    fn templates_fill_declared_names_only() {
        assert_eq!(
            fill("https://login.example/{tenant}/x", &[("tenant", "common")]).unwrap(),
            "https://login.example/common/x"
        );
        assert!(fill("https://{host}/x", &[("tenant", "a")]).is_err());
        assert!(fill("https://a/{tenant", &[("tenant", "a")]).is_err());
        assert!(fill("https://a/}", &[]).is_err());
    }

    #[test]
    fn origins_must_be_under_their_suffixes() {
        let suffixes = vec![".my.salesforce.com".to_owned()];
        assert!(origin_value("https://acme.my.salesforce.com", &suffixes).is_ok());
        for bad in [
            "http://acme.my.salesforce.com",
            "https://my.salesforce.com",
            "https://acme.my.salesforce.com.evil.example",
            "https://evil.example/.my.salesforce.com",
            "https://acme.my.salesforce.com:8443",
            "https://user@acme.my.salesforce.com",
            "https://acme.my.salesforce.com/services",
            "https://acmemy.salesforce.com",
        ] {
            assert!(origin_value(bad, &suffixes).is_err(), "{bad}");
        }
    }
}
