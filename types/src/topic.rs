//! Live topics, parsed once: what a client subscribes to on `/ws` and what
//! the server stores events under. A client says `user` for its own events;
//! they are stored under `user:<id>`.

use crate::{DeploymentId, RunId, UserId};

/// A topic as events are stored, numbered and fanned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Heartbeats: ephemeral, never stored.
    System,
    /// One user's own events.
    User(UserId),
    /// A deployment's status, timeline, runs and log lines.
    Deployment(DeploymentId),
    /// One run's status.
    Run(RunId),
}

/// A topic as a client names it in a `subscribe` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicRequest {
    System,
    /// `user`: the caller's own events.
    OwnEvents,
    Deployment(DeploymentId),
    Run(RunId),
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str(crate::live::SYSTEM_TOPIC),
            Self::User(id) => write!(f, "user:{id}"),
            Self::Deployment(id) => write!(f, "deployment:{id}"),
            Self::Run(id) => write!(f, "run:{id}"),
        }
    }
}

impl std::str::FromStr for Topic {
    type Err = UnknownTopic;

    /// A stored topic's name back into a topic.
    fn from_str(text: &str) -> Result<Self, UnknownTopic> {
        if text == crate::live::SYSTEM_TOPIC {
            return Ok(Self::System);
        }
        let (kind, id) = text.split_once(':').ok_or(UnknownTopic)?;
        let id: uuid::Uuid = id.parse().map_err(|_| UnknownTopic)?;
        match kind {
            "user" => Ok(Self::User(UserId(id))),
            "deployment" => Ok(Self::Deployment(DeploymentId(id))),
            "run" => Ok(Self::Run(RunId(id))),
            _ => Err(UnknownTopic),
        }
    }
}

impl std::fmt::Display for TopicRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => Topic::System.fmt(f),
            Self::OwnEvents => f.write_str("user"),
            Self::Deployment(id) => Topic::Deployment(*id).fmt(f),
            Self::Run(id) => Topic::Run(*id).fmt(f),
        }
    }
}

impl std::str::FromStr for TopicRequest {
    type Err = UnknownTopic;

    fn from_str(text: &str) -> Result<Self, UnknownTopic> {
        if text == "user" {
            return Ok(Self::OwnEvents);
        }
        match text.parse::<Topic>()? {
            Topic::System => Ok(Self::System),
            // Another user's events are never anyone else's to ask for.
            Topic::User(_) => Err(UnknownTopic),
            Topic::Deployment(id) => Ok(Self::Deployment(id)),
            Topic::Run(id) => Ok(Self::Run(id)),
        }
    }
}

/// Not a topic this server has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic")]
pub struct UnknownTopic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_read_back_what_they_write() {
        let id = uuid::Uuid::from_u128(7);
        for topic in [
            Topic::System,
            Topic::User(UserId(id)),
            Topic::Deployment(DeploymentId(id)),
            Topic::Run(RunId(id)),
        ] {
            assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
        }
        assert_eq!("user".parse(), Ok(TopicRequest::OwnEvents));
        assert_eq!(
            format!("run:{id}").parse(),
            Ok(TopicRequest::Run(RunId(id)))
        );
        for bad in [
            "",
            "user:",
            "deployment",
            "deployment:x",
            "job:1",
            "Run:00000000-0000-0000-0000-000000000007",
        ] {
            assert_eq!(bad.parse::<Topic>(), Err(UnknownTopic), "{bad}");
        }
        assert_eq!(
            format!("user:{id}").parse::<TopicRequest>(),
            Err(UnknownTopic)
        );
    }
}
