//! How a capability call that reaches the outside (an HTTP fetch, a model
//! completion) fails, in words for the agent.

/// The kinds match the WIT `capability-error` variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Not allowed by the manifest.
    #[error("{0}")]
    Denied(String),
    /// The request was malformed.
    #[error("{0}")]
    Invalid(String),
    /// A size or time limit was reached.
    #[error("{0}")]
    Limit(String),
    /// The far side failed or could not be reached.
    #[error("{0}")]
    Failed(String),
}
