//! Identity: who is calling (`Actor`), accounts and passwords, browser
//! sessions, and the audit log of what they did. Permission decisions live in
//! `access`, not here.

pub mod accounts;
pub mod audit;
pub mod password;
pub mod sessions;
pub mod tokens;

use std::time::Duration;

use crate::model::{SessionId, UserId};

use super::ServiceError;

/// Where a request came from, for sessions and the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
}

impl RequestMeta {
    pub fn new(ip: impl Into<String>, user_agent: &str) -> Self {
        Self {
            ip: ip.into().chars().take(64).collect(),
            user_agent: user_agent.chars().take(512).collect(),
        }
    }
}

/// Who is calling, as established by the HTTP layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    /// A browser signed in with a session cookie.
    Session {
        user_id: UserId,
        session_id: SessionId,
        csrf_token: String,
    },
}

impl Actor {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::Anonymous => None,
            Self::Session { user_id, .. } => Some(*user_id),
        }
    }

    /// The signed-in user, or 401.
    pub fn require_user(&self) -> Result<UserId, ServiceError> {
        self.user_id().ok_or(ServiceError::Unauthenticated)
    }

    pub fn session_id(&self) -> Option<SessionId> {
        match self {
            Self::Session { session_id, .. } => Some(*session_id),
            Self::Anonymous => None,
        }
    }
}

/// The actor and request facts, put on every API request by the server's
/// authentication middleware and read by handlers and server functions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self {
            actor: Actor::Anonymous,
            meta: RequestMeta::default(),
        }
    }
}

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
