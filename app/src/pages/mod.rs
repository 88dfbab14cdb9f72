//! One module per route.

pub mod admin;
pub mod agent;
pub mod consent;
pub mod creator;
pub mod dashboard;
pub mod deployment;
pub mod device;
pub mod editor;
pub mod integrations;
pub mod marketplace;
pub mod not_found;
pub mod pricing;
pub mod recovery;
pub mod run;
pub mod settings;
pub mod signin;
pub mod teams;
pub mod time;
pub mod version;
pub mod wallet;
pub mod webhooks;

/// Percent-encodes a query-string component.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
