//! `server` (or `server serve`): reads configuration, sets up logging and
//! runs Agentdeck; `server worker` runs only its background work.

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match server::config::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("agentdeck: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(&config.log_format);
    let result = match std::env::args().nth(1).as_deref() {
        None | Some("serve") => server::run(config),
        Some("worker") => server::run_worker(config),
        Some(other) => {
            eprintln!(
                "agentdeck: unknown command {other:?}; use `server` (or `server serve`) to serve, \
                 `server worker` to run only background work"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "the server stopped on an error"
            );
            eprintln!("agentdeck: {error:#}");
            ExitCode::FAILURE
        }
    }
}
