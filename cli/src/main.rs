//! `agentdeck`: see the library for the commands.

use clap::Parser as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = cli::Cli::parse();
    let mut stdout = std::io::stdout();
    let mut stdin = std::io::stdin();
    let io = cli::Io {
        out: &mut stdout,
        stdin: &mut stdin,
        config_dir: cli::config_dir(),
        // An empty variable is no key.
        env_key: std::env::var("AGENTDECK_API_KEY")
            .ok()
            .filter(|key| !key.trim().is_empty()),
        terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    if let Err(failure) = cli::run(cli, io).await {
        // A reader that stopped early (`| head`) is no error.
        if failure.message.contains("Broken pipe") {
            std::process::exit(0);
        }
        #[expect(
            clippy::print_stderr,
            reason = "a command line reports its errors on stderr"
        )]
        {
            eprintln!("error: {}", failure.message);
        }
        std::process::exit(failure.code);
    }
}
