//! Identity: accounts and passwords, browser sessions, API keys, GitHub
//! sign-in, and the audit log of what callers did. Who is calling is
//! `actor`; permission decisions live in `access`, not here.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod device_sign_in;
pub mod devices;
pub mod door;
pub mod github;
pub mod oauth;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod tokens;

use std::time::Duration;

pub use crate::actor::{Actor, Caller, RequestMeta};

/// Session lifetimes (configurable by the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// No session lives longer than this, however busy.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(7 * 24 * 3600),
            absolute: Duration::from_secs(30 * 24 * 3600),
        }
    }
}
