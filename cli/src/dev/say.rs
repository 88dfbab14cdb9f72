//! How an attempt is shown: its logs, output and a status line for people,
//! one JSON object per line for programs.

use std::io::Write;

use runtime::{Level, PrepareError};
use serde_json::{Value, json};

use super::{Attempt, Refusal};
use crate::Failure;

pub(super) fn not_prepared(name: &str, error: &PrepareError) -> String {
    match error {
        PrepareError::Script(_) => format!("{name} does not compile: {error}"),
        // The server keeps this for its log; here the log is the terminal.
        PrepareError::Internal(detail) => format!("{name}: {error}: {detail}"),
        _ => format!("{name}: {error}"),
    }
}

/// A run's error in words, with the details the server would only log.
pub(super) fn run_error(error: &runtime::RunError) -> String {
    match error {
        runtime::RunError::Internal { detail } => format!("{error}: {detail}"),
        _ => error.to_string(),
    }
}

/// Prints an attempt: one JSON object per line for programs, else its logs,
/// output and a status line. Without `watching` the reason for a failure is
/// left to the command's error, which says it once.
pub(super) fn say(
    out: &mut dyn Write,
    json: bool,
    attempt: &Attempt,
    watching: bool,
) -> Result<(), Failure> {
    if json {
        let shown = match attempt {
            Attempt::Unreadable(message) => {
                json!({ "error": { "code": "load_failed", "message": message } })
            }
            Attempt::Refused(Refusal { message, problems }) => json!({
                "error": { "code": "invalid_input", "message": message, "problems": problems }
            }),
            Attempt::NotPrepared { error, .. } => {
                json!({ "error": { "code": "prepare_failed", "message": error.to_string() } })
            }
            Attempt::Checked { digest, .. } => json!({ "ok": true, "digest": digest }),
            Attempt::Ran { outcome, .. } => serde_json::to_value(outcome)?,
        };
        writeln!(out, "{shown}")?;
        return Ok(());
    }
    match attempt {
        Attempt::Unreadable(message) | Attempt::Refused(Refusal { message, .. }) => {
            if watching {
                writeln!(out, "error: {message}")?;
            }
        }
        Attempt::NotPrepared { name, error } => {
            if watching {
                writeln!(out, "error: {}", not_prepared(name, error))?;
            }
        }
        Attempt::Checked { name, digest } => {
            writeln!(out, "{name} is ready to run (sha256 {digest}).")?;
        }
        Attempt::Ran {
            outcome,
            output_problems,
        } => {
            for line in &outcome.logs {
                let level = match line.level {
                    Level::Debug => "debug",
                    Level::Info => "info",
                    Level::Warn => "warn",
                    Level::Error => "error",
                };
                writeln!(out, "[{level:>5}] {}", line.message)?;
            }
            if outcome.logs_truncated {
                writeln!(out, "[ warn] (the log budget ran out: later lines dropped)")?;
            }
            let took = format!(
                "in {:.1} ms, {} fuel",
                outcome.duration.as_secs_f64() * 1000.0,
                outcome.fuel_used
            );
            match &outcome.result {
                Ok(output) => {
                    let pretty = serde_json::from_str::<Value>(output)
                        .and_then(|value| serde_json::to_string_pretty(&value))
                        .unwrap_or_else(|_| output.clone());
                    writeln!(out, "{pretty}")?;
                    for problem in output_problems {
                        writeln!(out, "output schema: {problem}")?;
                    }
                    writeln!(out, "succeeded {took}")?;
                }
                Err(error) => {
                    if watching {
                        writeln!(out, "error: {}", run_error(error))?;
                    }
                    writeln!(out, "failed ({}) {took}", error.code())?;
                }
            }
        }
    }
    Ok(())
}
