//! What a run produced: its output or a typed error, and what it cost.

use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// The whole story of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The output JSON text, or why there is none.
    #[serde(flatten, serialize_with = "serialize_result")]
    pub result: Result<String, RunError>,
    pub logs: Vec<LogLine>,
    /// Lines were dropped because the log budget ran out.
    pub logs_truncated: bool,
    #[serde(serialize_with = "serialize_micros", rename = "duration_us")]
    pub duration: Duration,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    /// The language model's calls and tokens, as the provider reported them.
    pub llm: crate::llm::Usage,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }

    /// The output, or the error's message.
    pub fn output(&self) -> Result<&str, &RunError> {
        self.result.as_deref()
    }
}

fn serialize_result<S: Serializer>(
    result: &Result<String, RunError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(1))?;
    match result {
        Ok(output) => {
            let value: Box<serde_json::value::RawValue> =
                serde_json::value::RawValue::from_string(output.clone())
                    .map_err(serde::ser::Error::custom)?;
            map.serialize_entry("output", &value)?;
        }
        Err(error) => map.serialize_entry("error", error)?,
    }
    map.end()
}

fn serialize_micros<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
    /// Milliseconds since the run started.
    pub at_ms: u64,
}

/// Why a run has no output. `code()` is the stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("timed out after {} ms", limit.as_millis())]
    TimedOut { limit: Duration },
    #[error("fuel exhausted: the run used its {limit} units")]
    FuelExhausted { limit: u64 },
    #[error("memory limit of {} exceeded", bytes(*limit))]
    MemoryLimit { limit: u64 },
    #[error("stack exhausted (too deep recursion): {detail}")]
    StackExhausted { detail: String },
    #[error("output too large: {} (the limit is {})", bytes(*size), bytes(*limit))]
    OutputTooLarge { size: u64, limit: u64 },
    #[error("the output is not JSON: {reason}")]
    InvalidOutput { reason: String },
    /// The agent gave up with an error of its own (or its script did not
    /// parse, or threw).
    #[error("{}", agent_message(.0))]
    Agent(AgentFailure),
    /// The agent crashed: a panic, `unreachable`, a bad memory access.
    #[error("the agent crashed: {message}")]
    Trap { message: String },
    /// Every sandbox slot is in use.
    #[error("the sandbox is at capacity; try again shortly")]
    Busy,
    /// Something went wrong on the platform's side; the details are logged.
    #[error("internal error in the sandbox")]
    Internal { detail: String },
}

/// The agent's own error: a code, a message and where in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentFailure {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

fn agent_message(failure: &AgentFailure) -> String {
    match (failure.line, failure.column) {
        (Some(line), Some(column)) => format!("{} (line {line}, column {column})", failure.message),
        (Some(line), None) => format!("{} (line {line})", failure.message),
        _ => failure.message.clone(),
    }
}

fn bytes(count: u64) -> String {
    if count >= 1 << 20 && count.is_multiple_of(1 << 20) {
        format!("{} MiB", count >> 20)
    } else if count >= 1 << 10 && count.is_multiple_of(1 << 10) {
        format!("{} KiB", count >> 10)
    } else {
        format!("{count} bytes")
    }
}

impl RunError {
    pub fn code(&self) -> &str {
        match self {
            Self::TimedOut { .. } => "timed_out",
            Self::FuelExhausted { .. } => "fuel_exhausted",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::StackExhausted { .. } => "stack_exhausted",
            Self::OutputTooLarge { .. } => "output_too_large",
            Self::InvalidOutput { .. } => "invalid_output",
            Self::Agent(_) => "agent_error",
            Self::Trap { .. } => "trap",
            Self::Busy => "busy",
            Self::Internal { .. } => "internal",
        }
    }
}

impl Serialize for RunError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", self.code())?;
        // Internal details stay in the server's log.
        map.serialize_entry("message", &self.to_string())?;
        if let Self::Agent(failure) = self {
            map.serialize_entry("agent", failure)?;
        }
        map.end()
    }
}

/// Why an agent version cannot be prepared for running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// The script does not parse, or fails while loading.
    #[error("{0}")]
    Script(AgentFailure),
    /// Loading the script hit a limit or crashed.
    #[error("the script could not be loaded: {0}")]
    Load(RunError),
    /// The bytes are not a component, or not one that implements the agent
    /// world with the imports the sandbox offers.
    #[error("not a valid agent component: {0}")]
    InvalidComponent(String),
    #[error("internal error while preparing the agent")]
    Internal(String),
}

impl fmt::Display for AgentFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&agent_message(self))
    }
}
