//! `server`: reads configuration, sets up logging and runs Agentdeck.

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
    match server::run(config) {
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
