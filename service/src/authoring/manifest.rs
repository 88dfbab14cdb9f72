//! What a draft may say: listing fields and the manifest (capabilities and
//! limits), checked field by field so a refusal names the field.

use crate::ServiceError;
use types::manifest::Manifest;
use types::market::DraftChanges;

pub(super) const MAX_TAGS: usize = 10;
pub(super) const MAX_TAG_CHARS: usize = 40;
pub(super) const MAX_PRICE: i64 = 1_000_000;
pub(super) const MAX_README_CHARS: usize = 100_000;
pub(super) const MAX_EXAMPLE_BYTES: usize = 64 << 10;
pub(super) const MAX_HOSTS: usize = 50;
pub(super) const MAX_KEYS: usize = 50;

/// The listing, README, manifest and example checked; the field at fault is
/// named.
pub(super) fn validate(
    connections: &crate::connections::ConnectionSettings,
    changes: &mut DraftChanges,
) -> Result<(), ServiceError> {
    let listing = &mut changes.listing;
    listing.name = listing.name.trim().to_owned();
    if listing.name.is_empty() || listing.name.chars().count() > 80 {
        return Err(ServiceError::invalid("name", "must be 1 to 80 characters"));
    }
    listing.summary = listing.summary.trim().to_owned();
    if listing.summary.chars().count() > 280 {
        return Err(ServiceError::invalid(
            "summary",
            "must be at most 280 characters",
        ));
    }
    listing.icon = listing.icon.trim().to_owned();
    if listing.icon.chars().count() > 16 {
        return Err(ServiceError::invalid(
            "icon",
            "must be at most 16 characters",
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in &listing.tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tags.contains(&tag) {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS || tag.contains(',') {
            return Err(ServiceError::invalid(
                "tags",
                format!("each tag is at most {MAX_TAG_CHARS} characters, without commas"),
            ));
        }
        tags.push(tag);
    }
    if tags.len() > MAX_TAGS {
        return Err(ServiceError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    listing.tags = tags;
    if !(0..=MAX_PRICE).contains(&listing.price_credits) {
        return Err(ServiceError::invalid(
            "price_credits",
            format!("must be a whole number of credits from 0 to {MAX_PRICE}"),
        ));
    }
    if changes.readme.chars().count() > MAX_README_CHARS {
        return Err(ServiceError::invalid(
            "readme",
            format!("must be at most {MAX_README_CHARS} characters"),
        ));
    }
    if changes.source.len() > runtime::MAX_SCRIPT_BYTES {
        return Err(ServiceError::invalid(
            "source",
            format!("must be at most {} KiB", runtime::MAX_SCRIPT_BYTES >> 10),
        ));
    }
    validate_manifest(connections, &mut changes.manifest)?;
    if changes.example_input.len() > MAX_EXAMPLE_BYTES {
        return Err(ServiceError::invalid(
            "example_input",
            format!("must be at most {} KiB", MAX_EXAMPLE_BYTES >> 10),
        ));
    }
    if !changes.example_input.trim().is_empty() {
        serde_json::from_str::<serde::de::IgnoredAny>(&changes.example_input).map_err(|error| {
            ServiceError::invalid("example_input", format!("is not JSON: {error}"))
        })?;
    }
    Ok(())
}

pub(super) fn validate_manifest(
    connections: &crate::connections::ConnectionSettings,
    manifest: &mut Manifest,
) -> Result<(), ServiceError> {
    crate::connections::bindings::check_needs(connections, &mut manifest.capabilities.connections)?;
    let caps = &mut manifest.capabilities;
    let mut hosts = Vec::new();
    for host in &caps.http {
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() || hosts.contains(&host) {
            continue;
        }
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(']') || name.ends_with(']') => (name, Some(port)),
            _ => (host.as_str(), None),
        };
        let name = name.strip_prefix("*.").unwrap_or(name);
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':')
            })
            && !name.starts_with('.')
            && !name.ends_with('.');
        let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|p| p > 0));
        if !name_ok || !port_ok || host.contains('/') {
            return Err(ServiceError::invalid(
                "manifest.capabilities.http",
                format!(
                    "{host:?} is not a host name: write api.example.com, *.example.com or api.example.com:8443 (no scheme or path)"
                ),
            ));
        }
        hosts.push(host);
    }
    if hosts.len() > MAX_HOSTS {
        return Err(ServiceError::invalid(
            "manifest.capabilities.http",
            format!("at most {MAX_HOSTS} hosts"),
        ));
    }
    caps.http = hosts;
    for (field, keys) in [
        ("manifest.capabilities.config", &mut caps.config),
        ("manifest.capabilities.secrets", &mut caps.secrets),
    ] {
        let mut clean: Vec<String> = Vec::new();
        for key in keys.iter() {
            let key = key.trim().to_owned();
            if key.is_empty() || clean.contains(&key) {
                continue;
            }
            if key.len() > 64
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            {
                return Err(ServiceError::invalid(
                    field,
                    format!("{key:?}: keys are up to 64 letters, digits, '_', '-' or '.'"),
                ));
            }
            clean.push(key);
        }
        if clean.len() > MAX_KEYS {
            return Err(ServiceError::invalid(
                field,
                format!("at most {MAX_KEYS} keys"),
            ));
        }
        *keys = clean;
    }
    let maximum = runtime::Limits::platform_maximum();
    let limits = &manifest.limits;
    for (field, value, most) in [
        (
            "manifest.limits.timeout_ms",
            limits.timeout_ms,
            maximum.timeout_ms,
        ),
        (
            "manifest.limits.memory_bytes",
            limits.memory_bytes,
            maximum.memory_bytes,
        ),
        ("manifest.limits.fuel", limits.fuel, maximum.fuel),
        (
            "manifest.limits.output_bytes",
            limits.output_bytes,
            maximum.output_bytes,
        ),
        (
            "manifest.limits.log_bytes",
            limits.log_bytes,
            maximum.log_bytes,
        ),
        (
            "manifest.limits.response_bytes",
            limits.response_bytes,
            maximum.response_bytes,
        ),
    ] {
        if value == 0 || value > most {
            return Err(ServiceError::invalid(
                field,
                format!("must be from 1 to {most}"),
            ));
        }
    }
    for (field, schema) in [
        ("manifest.input_schema", &mut manifest.input_schema),
        ("manifest.output_schema", &mut manifest.output_schema),
    ] {
        if schema.as_ref().is_some_and(serde_json::Value::is_null) {
            *schema = None;
        }
        if let Some(schema) = schema {
            types::json_schema::Schema::compile(schema)
                .map_err(|error| ServiceError::invalid(field, error.to_string()))?;
        }
    }
    // The model's budget may be 0 (no calls at all).
    for (field, value, most) in [
        (
            "manifest.limits.llm_calls",
            limits.llm_calls,
            maximum.llm_calls,
        ),
        (
            "manifest.limits.llm_tokens",
            limits.llm_tokens,
            maximum.llm_tokens,
        ),
    ] {
        if value > most {
            return Err(ServiceError::invalid(
                field,
                format!("must be from 0 to {most}"),
            ));
        }
    }
    Ok(())
}

/// `value` against a schema at hand (a draft's, a version's; None: any
/// JSON), its violations named from `root`: for test runs and tries, which
/// are not on the fast path. A schema that does not compile checks nothing
/// (see `compiled`).
pub(super) fn violations(
    schema: Option<&serde_json::Value>,
    value: &serde_json::Value,
    root: &str,
) -> Vec<types::json_schema::Violation> {
    let Some(schema) = schema.filter(|schema| !schema.is_null()) else {
        return Vec::new();
    };
    match types::json_schema::Schema::compile(schema) {
        Ok(schema) => schema.check(value, root).err().unwrap_or_default(),
        Err(error) => {
            tracing::warn!(%error, "a schema does not compile; the value goes unchecked");
            Vec::new()
        }
    }
}
