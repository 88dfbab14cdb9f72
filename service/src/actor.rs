//! Who is calling (`Actor`) and from where (`RequestMeta`), as the server's
//! authentication middleware established it. Everything the service does
//! is done for an actor; `access` decides what it may do.

use types::account::Scope;
use types::{ApiKeyId, SessionId, UserId, WorkspaceId};

use crate::ServiceError;

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
    /// A program holding an API key: acts for the key's owner, in the key's
    /// workspace, within the key's scopes.
    ApiKey {
        user_id: UserId,
        key_id: ApiKeyId,
        workspace_id: WorkspaceId,
        scopes: Vec<Scope>,
    },
    /// A schedule or an inbound webhook starting a run of its deployment:
    /// acts for the member who set it up, in the deployment's workspace,
    /// with `runs:write` only. Made by the service, never by a request.
    Trigger {
        user_id: UserId,
        workspace_id: WorkspaceId,
    },
    /// A web embed's visitor (no account), holding the token its session
    /// gave: may follow the live topics of its own runs, nothing else.
    Visitor {
        embed_id: uuid::Uuid,
        session_id: uuid::Uuid,
        /// When its token ends (its socket closes then).
        expires_at: chrono::DateTime<chrono::Utc>,
    },
}

impl Actor {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::Anonymous | Self::Visitor { .. } => None,
            Self::Session { user_id, .. }
            | Self::ApiKey { user_id, .. }
            | Self::Trigger { user_id, .. } => Some(*user_id),
        }
    }

    /// 401 for anonymous callers, 403 for a key without `scope`; sessions
    /// hold every scope.
    pub fn require_scope(&self, scope: Scope) -> Result<UserId, ServiceError> {
        let user = self.require_user()?;
        match self {
            Self::ApiKey { scopes, .. } if !scopes.contains(&scope) => Err(
                ServiceError::Forbidden(format!("this API key lacks the {} scope", scope.as_str())),
            ),
            Self::Trigger { .. } if scope != Scope::RunsWrite => Err(ServiceError::Forbidden(
                format!("a trigger lacks the {} scope", scope.as_str()),
            )),
            _ => Ok(user),
        }
    }

    /// For what anyone may read (public agents): anonymous callers and
    /// sessions pass, a key must hold `scope`. A key never reaches beyond its
    /// scopes, even where no key at all would do.
    pub fn check_key_scope(&self, scope: Scope) -> Result<(), ServiceError> {
        match self {
            Self::ApiKey { .. } | Self::Trigger { .. } | Self::Visitor { .. } => {
                self.require_scope(scope).map(drop)
            }
            Self::Anonymous | Self::Session { .. } => Ok(()),
        }
    }

    /// Signing up and in is for browsers (anonymous or swapping accounts),
    /// never for a key.
    pub fn require_browser(&self) -> Result<(), ServiceError> {
        match self {
            Self::ApiKey { .. } | Self::Trigger { .. } | Self::Visitor { .. } => Err(
                ServiceError::Forbidden("API keys cannot sign up or sign in".to_owned()),
            ),
            Self::Anonymous | Self::Session { .. } => Ok(()),
        }
    }

    /// Only a person in a browser session (not a key) may do this: managing
    /// keys, sessions and members.
    pub fn require_session(&self) -> Result<UserId, ServiceError> {
        match self {
            Self::Session { user_id, .. } => Ok(*user_id),
            Self::ApiKey { .. } | Self::Trigger { .. } => Err(ServiceError::Forbidden(
                "API keys cannot do this; sign in to the web app".to_owned(),
            )),
            Self::Anonymous | Self::Visitor { .. } => Err(ServiceError::Unauthenticated),
        }
    }

    /// The signed-in user, or 401.
    pub fn require_user(&self) -> Result<UserId, ServiceError> {
        self.user_id().ok_or(ServiceError::Unauthenticated)
    }

    pub fn session_id(&self) -> Option<SessionId> {
        match self {
            Self::Session { session_id, .. } => Some(*session_id),
            Self::Anonymous | Self::ApiKey { .. } | Self::Trigger { .. } | Self::Visitor { .. } => {
                None
            }
        }
    }

    pub fn key_id(&self) -> Option<ApiKeyId> {
        match self {
            Self::ApiKey { key_id, .. } => Some(*key_id),
            Self::Anonymous
            | Self::Session { .. }
            | Self::Trigger { .. }
            | Self::Visitor { .. } => None,
        }
    }

    /// The one workspace a key or a trigger acts in.
    pub fn bound_workspace(&self) -> Option<WorkspaceId> {
        match self {
            Self::ApiKey { workspace_id, .. } | Self::Trigger { workspace_id, .. } => {
                Some(*workspace_id)
            }
            Self::Anonymous | Self::Session { .. } | Self::Visitor { .. } => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn key(scopes: Vec<Scope>) -> Actor {
        Actor::ApiKey {
            user_id: UserId(Uuid::nil()),
            key_id: ApiKeyId(Uuid::nil()),
            workspace_id: WorkspaceId(Uuid::nil()),
            scopes,
        }
    }

    #[test]
    fn scopes_bind_keys_but_not_sessions() {
        let session = Actor::Session {
            user_id: UserId(Uuid::nil()),
            session_id: SessionId(Uuid::nil()),
            csrf_token: String::new(),
        };
        for scope in Scope::ALL {
            assert!(session.require_scope(scope).is_ok());
        }
        let reader = key(vec![Scope::AgentsRead]);
        assert!(reader.require_scope(Scope::AgentsRead).is_ok());
        assert!(matches!(
            reader.require_scope(Scope::AgentsWrite),
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            Actor::Anonymous.require_scope(Scope::AgentsRead),
            Err(ServiceError::Unauthenticated)
        ));
        assert!(matches!(
            reader.require_session(),
            Err(ServiceError::Forbidden(_))
        ));
        assert!(session.require_session().is_ok());
    }
}
