//! An agent version's manifest: what a run may do (capabilities, all
//! denied unless granted) and what it may use (limits). One definition for
//! the editor, the service layer and the sandbox, which enforces it.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Hard limits for one run. Every one of them ends the run with its own
/// typed error when reached, except the log budget, which drops lines and
/// flags the log as truncated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock time for the whole run, host calls included.
    pub timeout_ms: u64,
    /// Linear memory, all of the agent's memories together.
    pub memory_bytes: u64,
    /// WebAssembly instructions, roughly one unit each: deterministic, so
    /// the same agent and input always use the same amount.
    pub fuel: u64,
    /// The output JSON text.
    pub output_bytes: u64,
    /// All log lines together (standard output and error included).
    pub log_bytes: u64,
    /// One HTTP response body or one model completion.
    pub response_bytes: u64,
    /// Calls to the language model in one run.
    pub llm_calls: u64,
    /// The language model's tokens in one run, prompts and answers
    /// together. Each call is sent only if its worst case (its prompt plus
    /// `max_tokens`) fits what is left.
    pub llm_tokens: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            memory_bytes: 128 << 20,
            fuel: 20_000_000_000,
            output_bytes: 1 << 20,
            log_bytes: 256 << 10,
            response_bytes: 2 << 20,
            llm_calls: 20,
            llm_tokens: 50_000,
        }
    }
}

impl Limits {
    /// The most any agent may ask for; a manifest asking for more is clamped.
    pub fn platform_maximum() -> Self {
        Self {
            timeout_ms: 300_000,
            memory_bytes: 1 << 30,
            fuel: 1_000_000_000_000,
            output_bytes: 16 << 20,
            log_bytes: 4 << 20,
            response_bytes: 16 << 20,
            llm_calls: 1_000,
            llm_tokens: 2_000_000,
        }
    }

    /// Each limit no larger than `maximum`'s and never zero.
    pub fn clamped(&self, maximum: &Self) -> Self {
        let clamp = |value: u64, maximum: u64| value.clamp(1, maximum.max(1));
        Self {
            timeout_ms: clamp(self.timeout_ms, maximum.timeout_ms),
            memory_bytes: clamp(self.memory_bytes, maximum.memory_bytes),
            fuel: clamp(self.fuel, maximum.fuel),
            output_bytes: clamp(self.output_bytes, maximum.output_bytes),
            log_bytes: clamp(self.log_bytes, maximum.log_bytes),
            response_bytes: clamp(self.response_bytes, maximum.response_bytes),
            llm_calls: self.llm_calls.min(maximum.llm_calls),
            llm_tokens: self.llm_tokens.min(maximum.llm_tokens),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// What an agent version may do besides computing. Everything is denied
/// unless granted here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// Call the platform's language model.
    pub llm: bool,
    /// Hosts `http.fetch` may reach: `api.example.com` (ports 80 and 443),
    /// `api.example.com:8443`, or `*.example.com` (its subdomains).
    pub http: Vec<String>,
    /// Keep key-value state in the deployment.
    pub kv: bool,
    /// Configuration keys the deployment supplies and the agent may read.
    pub config: Vec<String>,
    /// Secrets the deployment supplies and the agent may read.
    pub secrets: Vec<String>,
    /// Accounts at other services the agent acts in (docs/connections.md):
    /// a provider of the catalogue and the scopes it needs. Each deployment
    /// binds each one to a connection of its workspace, with consent; the
    /// agent calls it with `ctx.connections.<provider>.fetch` and never
    /// sees its credential.
    pub connections: Vec<ConnectionNeed>,
}

/// A connection an agent needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionNeed {
    /// The provider's id in the catalogue (`github`).
    pub provider: String,
    /// Scopes of that provider it needs, besides the provider's defaults.
    pub scopes: Vec<String>,
}

impl Capabilities {
    /// Whether `http.fetch` may reach `host` on `port` (`default_port` being
    /// the scheme's own).
    pub fn allows_host(&self, host: &str, port: u16, default_port: bool) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.http.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            let (pattern, entry_port) = match entry.rsplit_once(':') {
                Some((pattern, entry_port)) if !pattern.contains(']') || pattern.ends_with(']') => {
                    match entry_port.parse::<u16>() {
                        Ok(entry_port) => (pattern.to_owned(), Some(entry_port)),
                        Err(_) => (entry.clone(), None),
                    }
                }
                _ => (entry.clone(), None),
            };
            let port_matches = match entry_port {
                Some(entry_port) => entry_port == port,
                None => default_port,
            };
            let pattern = pattern.trim_start_matches('[').trim_end_matches(']');
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let host_matches = match pattern.strip_prefix("*.") {
                Some(domain) => {
                    host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}"))
                }
                None => host == pattern,
            };
            port_matches && host_matches
        })
    }
}

/// An agent version's manifest: the JSON the editor edits, the service
/// stores per version and the sandbox enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Manifest {
    pub capabilities: Capabilities,
    pub limits: Limits,
    /// What a run takes: a JSON Schema of the subset `json_schema`
    /// describes. Every way of starting a run checks the input against it
    /// before any sandbox work; forms, tools and flags are made from it.
    /// None: any JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<serde_json::Value>,
    /// What a run answers, in the same subset: documentation for callers
    /// (and the structured output of tools); test runs say when an output
    /// does not meet it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
}

impl Capabilities {
    /// The grants in plain words, for the agent page and the editor.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.llm {
            lines.push("Calls a language model with the text you give it".to_owned());
        }
        if !self.http.is_empty() {
            lines.push(format!("Fetches from {}", self.http.join(", ")));
        }
        if self.kv {
            lines.push("Keeps its own data between runs of your deployment".to_owned());
        }
        if !self.config.is_empty() {
            lines.push(format!("Reads settings: {}", self.config.join(", ")));
        }
        if !self.secrets.is_empty() {
            lines.push(format!(
                "Reads secrets you provide: {}",
                self.secrets.join(", ")
            ));
        }
        for need in &self.connections {
            let scopes = if need.scopes.is_empty() {
                String::new()
            } else {
                format!(" ({})", need.scopes.join(", "))
            };
            lines.push(format!(
                "Acts in an account you connect at {}{scopes}",
                need.provider
            ));
        }
        if lines.is_empty() {
            lines.push("Only computes: no model, no network, no storage".to_owned());
        }
        lines
    }
}

impl Limits {
    /// The limits in plain words.
    pub fn describe(&self) -> String {
        format!(
            "Up to {} s per run, {} MiB of memory, {} KiB of output",
            self.timeout_ms / 1000,
            self.memory_bytes >> 20,
            self.output_bytes >> 10
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Capabilities {
        Capabilities {
            http: list.iter().map(|host| (*host).to_owned()).collect(),
            ..Capabilities::default()
        }
    }

    #[test]
    fn host_allow_list() {
        let grants = hosts(&[
            "api.example.com",
            "*.example.org",
            "127.0.0.1:8080",
            "[::1]:9000",
        ]);
        assert!(grants.allows_host("api.example.com", 443, true));
        assert!(grants.allows_host("API.example.com.", 80, true));
        assert!(!grants.allows_host("api.example.com", 8443, false));
        assert!(!grants.allows_host("example.com", 443, true));
        assert!(!grants.allows_host("evil-api.example.com", 443, true));
        assert!(grants.allows_host("a.b.example.org", 443, true));
        assert!(!grants.allows_host("example.org", 443, true));
        assert!(!grants.allows_host("example.org.evil.net", 443, true));
        assert!(grants.allows_host("127.0.0.1", 8080, false));
        assert!(!grants.allows_host("127.0.0.1", 8081, false));
        assert!(grants.allows_host("[::1]", 9000, false));
        assert!(!Capabilities::default().allows_host("api.example.com", 443, true));
    }

    #[test]
    fn limits_are_clamped_to_the_platform_maximum() {
        let asked = Limits {
            timeout_ms: u64::MAX,
            memory_bytes: 0,
            ..Limits::default()
        };
        let limits = asked.clamped(&Limits::platform_maximum());
        assert_eq!(limits.timeout_ms, Limits::platform_maximum().timeout_ms);
        assert_eq!(limits.memory_bytes, 1);
        assert_eq!(limits.fuel, Limits::default().fuel);
    }

    #[test]
    fn manifest_reads_with_defaults_and_refuses_unknown_fields() {
        let manifest: Manifest = serde_json::from_str(
            r#"{"capabilities":{"llm":true,"http":["example.com"]},"limits":{"timeout_ms":500}}"#,
        )
        .unwrap_or_default();
        assert!(manifest.capabilities.llm);
        assert!(!manifest.capabilities.kv);
        assert_eq!(manifest.limits.timeout_ms, 500);
        assert_eq!(manifest.limits.memory_bytes, Limits::default().memory_bytes);
        assert!(
            serde_json::from_str::<Manifest>(r#"{"capabilities":{"filesystem":true}}"#).is_err()
        );
    }
}
