//! The real server binary: embedded PostgreSQL, restarts that keep the data,
//! graceful shutdown, and start-up errors that name their cause.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;

/// Only a broken server makes a test wait this long.
const DEADLINE: Duration = Duration::from_secs(90);

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("finding a free port")
        .port()
}

/// A data directory PostgreSQL can use even when the tests run as root.
pub(crate) fn data_dir() -> TempDir {
    let dir = TempDir::new().expect("creating a data directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("opening the data directory");
    dir
}

pub(crate) fn server_command(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .current_dir(data_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AGENTDECK_DATA_DIR", data_dir.join("state"))
        .env("AGENTDECK_DIST_DIR", data_dir.join("dist"))
        .env("AGENTDECK_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

pub(crate) struct Running {
    child: Child,
    pub(crate) base_url: String,
}

impl Running {
    pub(crate) async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, |_| {}).await
    }

    /// Starts the server with more settings; its log goes to
    /// `server.log` in the data directory.
    pub(crate) async fn start_with(data_dir: &Path, configure: impl FnOnce(&mut Command)) -> Self {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .expect("opening the log");
        let mut command = server_command(data_dir, port);
        configure(&mut command);
        let child = command.stderr(log).spawn().expect("starting the server");
        let running = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        running.wait_ready().await;
        running
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok(response) = reqwest::get(format!("{}/readyz", self.base_url)).await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn agent_ids(&self) -> Vec<String> {
        let page: Value = reqwest::get(format!("{}/api/v1/agents?limit=100", self.base_url))
            .await
            .expect("listing agents")
            .json()
            .await
            .expect("a JSON page");
        let mut ids: Vec<String> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|agent| agent["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// SIGKILL: no clean-up of any kind.
    pub(crate) fn kill9(mut self) {
        self.child.kill().expect("killing the server");
        self.child.wait().expect("reaping the server");
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGTERM).expect("signalling the server");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the server") {
                return status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails (panics) with its server still up stops it, as
/// SIGTERM would (so its embedded PostgreSQL stops too), and kills it if it
/// does not stop: no server outlives its test.
impl Drop for Running {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postmaster_pid_file(data_dir: &Path) -> bool {
    data_dir.join("state/postgres/postmaster.pid").exists()
}

#[tokio::test]
async fn a_restart_keeps_the_data_and_seeds_nothing_twice() {
    let dir = data_dir();
    let first = Running::start(dir.path()).await;
    assert!(
        dir.path().join("state/postgres/PG_VERSION").is_file(),
        "cluster created in the data dir"
    );
    let ids = first.agent_ids().await;
    assert_eq!(ids.len(), 12);
    let status = first.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        !postmaster_pid_file(dir.path()),
        "PostgreSQL still running after the server stopped"
    );

    let second = Running::start(dir.path()).await;
    assert_eq!(
        second.agent_ids().await,
        ids,
        "the same agents, not duplicated"
    );
    assert!(second.terminate().success());
    assert!(!postmaster_pid_file(dir.path()));
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = data_dir();
    let first = Running::start(dir.path()).await;
    let stderr = start_up_error_in(dir.path(), |_| {}).await;
    assert!(
        stderr.contains("another Agentdeck server is using the data directory"),
        "{stderr}"
    );
    // The first one is unharmed.
    assert_eq!(first.agent_ids().await.len(), 12);
    assert!(first.terminate().success());
}

async fn start_up_error(configure: impl FnOnce(&mut Command)) -> String {
    let dir = data_dir();
    start_up_error_in(dir.path(), configure).await
}

async fn start_up_error_in(dir: &Path, configure: impl FnOnce(&mut Command)) -> String {
    let mut command = server_command(dir, free_port());
    configure(&mut command);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joining")
        .expect("running the server");
    assert!(
        !output.status.success(),
        "the server should have refused to start"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn bad_configuration_stops_start_up_naming_the_variable() {
    let stderr = start_up_error(|c| {
        c.env("AGENTDECK_ADDR", "localhost");
    })
    .await;
    assert!(stderr.contains("AGENTDECK_ADDR"), "{stderr}");

    let stderr = start_up_error(|c| {
        c.env("AGENTDECK_PG_BIN", "/nonexistent");
    })
    .await;
    assert!(stderr.contains("AGENTDECK_PG_BIN=/nonexistent"), "{stderr}");
}
