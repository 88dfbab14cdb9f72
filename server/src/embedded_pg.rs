//! A private PostgreSQL for the server's data directory, run from the
//! machine's own server binaries when no `DATABASE_URL` is set.
//!
//! The first start creates the cluster; later starts reuse it. It listens only
//! on a Unix socket inside the cluster directory (mode 0700), dies with the
//! process that started it (parent-death signal) and stops on `stop`/drop.
//! PostgreSQL refuses to run as root, so under root it runs as an unprivileged
//! user (`nobody` unless `AGENTDECK_PG_USER` says otherwise).

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};

/// The database and role the server uses inside the private cluster.
pub const DATABASE: &str = "agentdeck";
pub const ROLE: &str = "agentdeck";
/// Only names the socket file; nothing listens on TCP.
const PORT: u16 = 5432;
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Where the cluster lives when the unprivileged user cannot enter the data
/// directory (for example a clone under root's home).
const ROOT_FALLBACK_DIR: &str = "/var/lib/agentdeck";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries (initdb and postgres) were not found. Install them \
         (Debian/Ubuntu: `apt-get install postgresql`; Fedora: `dnf install postgresql-server`; \
         macOS: `brew install postgresql`), point AGENTDECK_PG_BIN at the directory that holds \
         them, or set DATABASE_URL to use an existing PostgreSQL database."
    )]
    BinariesMissing,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// How the cluster should trade durability for speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Normal PostgreSQL settings: what a user's data deserves.
    Full,
    /// `fsync=off` and friends: for throwaway test clusters.
    Throwaway,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub data_dir: PathBuf,
    /// Directory holding `initdb` and `postgres`; searched for when absent.
    pub bin_dir: Option<PathBuf>,
    /// Unprivileged account PostgreSQL runs as when we are root.
    pub run_as_user: String,
    pub durability: Durability,
    /// More `-c name=value` settings (a benchmark preloads
    /// `pg_stat_statements` to count a run's statements).
    pub settings: Vec<String>,
}

impl Options {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bin_dir: None,
            run_as_user: "nobody".to_owned(),
            durability: Durability::Full,
            settings: Vec::new(),
        }
    }
}

/// Which account the PostgreSQL processes run as.
#[derive(Clone, Copy, Debug)]
struct Account {
    uid: Uid,
    gid: Gid,
    /// Whether we must switch to it (we are root).
    switch: bool,
}

impl Account {
    fn for_postgres(user: &str) -> Result<Self, EmbeddedPgError> {
        if !Uid::effective().is_root() {
            return Ok(Self {
                uid: Uid::effective(),
                gid: Gid::effective(),
                switch: false,
            });
        }
        let account = User::from_name(user)
            .map_err(|e| EmbeddedPgError::Failed(format!("looking up user {user:?}: {e}")))?
            .ok_or_else(|| {
                EmbeddedPgError::Failed(format!(
                    "running as root, PostgreSQL needs an unprivileged user, but user {user:?} \
                     does not exist; create it or set AGENTDECK_PG_USER"
                ))
            })?;
        Ok(Self {
            uid: account.uid,
            gid: account.gid,
            switch: true,
        })
    }

    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(cwd).env_remove("PGDATA");
        if self.switch {
            command.uid(self.uid.as_raw()).gid(self.gid.as_raw());
        }
        command
    }

    fn own(&self, path: &Path) -> Result<(), EmbeddedPgError> {
        if self.switch {
            chown(path, Some(self.uid.as_raw()), Some(self.gid.as_raw())).map_err(io_error(
                format!("changing the owner of {}", path.display()),
            ))?;
        }
        Ok(())
    }

    /// Whether this account can enter `dir` (every ancestor searchable).
    fn can_enter(&self, dir: &Path) -> bool {
        if !self.switch {
            return true;
        }
        self.command(Path::new("/bin/sh"), Path::new("/"))
            .args(["-c", "cd \"$1\"", "sh"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// Finds `initdb` and `postgres`: the configured directory, Debian's
/// versioned directories (newest first), then `PATH`.
pub fn find_binaries(configured: Option<&Path>) -> Result<PathBuf, EmbeddedPgError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        return if has_both(dir) {
            Ok(dir.to_owned())
        } else {
            Err(EmbeddedPgError::Failed(format!(
                "AGENTDECK_PG_BIN={} does not contain initdb and postgres",
                dir.display()
            )))
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    debian.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    debian
        .into_iter()
        .map(|(_, dir)| dir)
        .chain(path_dirs)
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|dir| has_both(dir))
        .ok_or(EmbeddedPgError::BinariesMissing)
}

/// A running private PostgreSQL.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    child: Option<Child>,
    cluster_dir: PathBuf,
    /// Held while we run: one server per data directory.
    _lock: fs::File,
}

impl EmbeddedPostgres {
    /// Creates the cluster if needed and starts PostgreSQL, waiting until it
    /// accepts connections. Blocking; call it from a thread that lives as long
    /// as the database should (the parent-death signal follows that thread).
    pub fn start(options: &Options) -> Result<Self, EmbeddedPgError> {
        let bin_dir = find_binaries(options.bin_dir.as_deref())?;
        let account = Account::for_postgres(&options.run_as_user)?;
        fs::create_dir_all(&options.data_dir).map_err(io_error(format!(
            "creating the data directory {}",
            options.data_dir.display()
        )))?;
        let data_dir = fs::canonicalize(&options.data_dir).map_err(io_error(format!(
            "resolving {}",
            options.data_dir.display()
        )))?;
        let lock = lock_data_dir(&data_dir)?;
        let cluster_dir = cluster_dir_for(&data_dir, &account)?;
        let log_path = data_dir.join("postgres.log");

        if !cluster_dir.join("PG_VERSION").is_file() {
            init_cluster(&bin_dir, &cluster_dir, &account, &log_path)?;
        }
        stop_stale_server(&cluster_dir)?;

        let log = log_file(&log_path)?;
        let log_err = log
            .try_clone()
            .map_err(io_error("duplicating the log file handle"))?;
        let mut command = account.command(&bin_dir.join("postgres"), &cluster_dir);
        command
            .arg("-D")
            .arg(&cluster_dir)
            .arg("-k")
            .arg(&cluster_dir)
            .args(["-p", &PORT.to_string()])
            .args(["-c", "listen_addresses="])
            .args(["-c", "unix_socket_permissions=0700"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a terminal's Ctrl-C reaches the server,
            // which then stops PostgreSQL in order.
            .process_group(0);
        if options.durability == Durability::Throwaway {
            for setting in [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ] {
                command.args(["-c", setting]);
            }
        }
        for setting in &options.settings {
            command.args(["-c", setting]);
        }
        // SAFETY: the closure only makes the prctl system call, which is
        // async-signal-safe, between fork and exec.
        #[expect(
            unsafe_code,
            reason = "pre_exec is the only way to set a parent-death signal"
        )]
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(io::Error::from)
            });
        }
        let child = command.spawn().map_err(io_error(format!(
            "starting {}",
            bin_dir.join("postgres").display()
        )))?;
        let mut server = Self {
            child: Some(child),
            cluster_dir,
            _lock: lock,
        };
        server.wait_ready(&log_path)?;
        tracing::info!(cluster = %server.cluster_dir.display(), "embedded PostgreSQL is ready");
        Ok(server)
    }

    /// The URL of the server's database, over the Unix socket.
    pub fn database_url(&self, database: &str) -> String {
        let socket_dir = percent_encode(&self.cluster_dir.to_string_lossy());
        format!("postgresql://{ROLE}@{socket_dir}:{PORT}/{database}")
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    fn wait_ready(&mut self, log_path: &Path) -> Result<(), EmbeddedPgError> {
        let started = Instant::now();
        let pid = self.child.as_ref().map(Child::id);
        loop {
            // A pid file left by a crash may also say "ready": only ours counts.
            if let Some((owner, status)) = postmaster_status(&self.cluster_dir)
                && Some(owner) == pid
                && status == "ready"
            {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(EmbeddedPgError::Failed(format!(
                    "PostgreSQL exited during start-up ({status}); its log {} ends with:\n{}",
                    log_path.display(),
                    log_tail(log_path)
                )));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(EmbeddedPgError::Failed(format!(
                    "PostgreSQL did not become ready within {START_TIMEOUT:?}; see {}",
                    log_path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fast shutdown: ends sessions, checkpoints, exits.
    pub fn stop(&mut self) -> Result<(), EmbeddedPgError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = Pid::from_raw(child.id() as i32);
        // Already gone is fine.
        let _ = kill(pid, Signal::SIGINT);
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if started.elapsed() < STOP_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    // Immediate shutdown as a last resort.
                    let _ = kill(pid, Signal::SIGQUIT);
                    let _ = child.wait();
                    return Err(EmbeddedPgError::Failed(format!(
                        "PostgreSQL did not stop within {STOP_TIMEOUT:?}; it was forced to quit"
                    )));
                }
            }
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping embedded PostgreSQL");
        }
    }
}

fn cluster_dir_for(data_dir: &Path, account: &Account) -> Result<PathBuf, EmbeddedPgError> {
    if account.can_enter(data_dir) {
        return Ok(data_dir.join("postgres"));
    }
    // The unprivileged account cannot reach the data directory. Keep the
    // cluster in a root-managed place it can reach, one per data directory,
    // and leave a note where the data directory is.
    let hash = fnv1a(data_dir.to_string_lossy().as_bytes());
    let base = Path::new(ROOT_FALLBACK_DIR);
    fs::create_dir_all(base).map_err(io_error(format!("creating {ROOT_FALLBACK_DIR}")))?;
    fs::set_permissions(base, fs::Permissions::from_mode(0o755)).map_err(io_error(format!(
        "setting permissions of {ROOT_FALLBACK_DIR}"
    )))?;
    let dir = base.join(format!("postgres-{hash:016x}"));
    let note = format!(
        "The PostgreSQL cluster for this data directory is at {}\n(the user PostgreSQL runs as cannot enter {}).\n",
        dir.display(),
        data_dir.display()
    );
    fs::write(data_dir.join("postgres.location"), note)
        .map_err(io_error("writing postgres.location"))?;
    tracing::info!(cluster = %dir.display(), "the PostgreSQL user cannot enter the data directory; using the fallback location");
    Ok(dir)
}

fn init_cluster(
    bin_dir: &Path,
    cluster_dir: &Path,
    account: &Account,
    log_path: &Path,
) -> Result<(), EmbeddedPgError> {
    tracing::info!(cluster = %cluster_dir.display(), "creating a private PostgreSQL cluster");
    // A half-made cluster from an interrupted first start is discarded.
    if cluster_dir.exists() {
        fs::remove_dir_all(cluster_dir).map_err(io_error(format!(
            "removing incomplete cluster {}",
            cluster_dir.display()
        )))?;
    }
    fs::create_dir_all(cluster_dir)
        .map_err(io_error(format!("creating {}", cluster_dir.display())))?;
    fs::set_permissions(cluster_dir, fs::Permissions::from_mode(0o700)).map_err(io_error(
        format!("setting permissions of {}", cluster_dir.display()),
    ))?;
    account.own(cluster_dir)?;
    let log = log_file(log_path)?;
    let log_err = log
        .try_clone()
        .map_err(io_error("duplicating the log file handle"))?;
    let status = account
        .command(&bin_dir.join("initdb"), cluster_dir)
        .arg("-D")
        .arg(cluster_dir)
        .args([
            "-U",
            ROLE,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(io_error(format!(
            "running {}",
            bin_dir.join("initdb").display()
        )))?;
    if !status.success() {
        return Err(EmbeddedPgError::Failed(format!(
            "initdb failed ({status}); {} ends with:\n{}",
            log_path.display(),
            log_tail(log_path)
        )));
    }
    Ok(())
}

/// A PostgreSQL left running by a server that was killed: stop it so this
/// process owns the one it talks to.
fn stop_stale_server(cluster_dir: &Path) -> Result<(), EmbeddedPgError> {
    let Ok(text) = fs::read_to_string(cluster_dir.join("postmaster.pid")) else {
        return Ok(());
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return Ok(());
    };
    let pid = Pid::from_raw(pid);
    // After a reboot the pid may belong to anything; only a postmaster
    // started on this very cluster is ours to stop.
    let runs_this_cluster = fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
        let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
        let cluster = cluster_dir.as_os_str().as_encoded_bytes();
        args.first()
            .is_some_and(|program| program.ends_with(b"postgres"))
            && args
                .windows(2)
                .any(|pair| pair[0] == b"-D" && pair[1] == cluster)
    });
    if !runs_this_cluster {
        // Stale pid file of a dead process; PostgreSQL replaces it itself.
        return Ok(());
    }
    tracing::warn!(%pid, "stopping a PostgreSQL left running on this data directory");
    let _ = kill(pid, Signal::SIGINT);
    let started = Instant::now();
    while kill(pid, None).is_ok() {
        if started.elapsed() > STOP_TIMEOUT {
            return Err(EmbeddedPgError::Failed(format!(
                "a PostgreSQL (pid {pid}) still runs on {} and did not stop",
                cluster_dir.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The pid and status line of `postmaster.pid` (`starting`, `ready`,
/// `stopping`).
fn postmaster_status(cluster_dir: &Path) -> Option<(u32, String)> {
    let text = fs::read_to_string(cluster_dir.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let status = lines.nth(6)?.trim().to_owned();
    Some((pid, status))
}

/// Takes `<data dir>/server.lock` for as long as the returned file lives.
fn lock_data_dir(data_dir: &Path) -> Result<fs::File, EmbeddedPgError> {
    let path = data_dir.join("server.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(format!("opening {}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(EmbeddedPgError::Failed(format!(
            "another Agentdeck server is using the data directory {}; stop it, or give this one \
             its own AGENTDECK_DATA_DIR",
            data_dir.display()
        ))),
        Err(fs::TryLockError::Error(error)) => Err(EmbeddedPgError::Io {
            context: format!("locking {}", path.display()),
            source: error,
        }),
    }
}

fn log_file(path: &Path) -> Result<fs::File, EmbeddedPgError> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error(format!("opening {}", path.display())))
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths_are_encoded_into_the_url_host() {
        let server = EmbeddedPostgres {
            child: None,
            cluster_dir: PathBuf::from("/tmp/a b/postgres"),
            _lock: tempfile::tempfile().expect("a temporary file"),
        };
        assert_eq!(
            server.database_url("agentdeck"),
            "postgresql://agentdeck@%2Ftmp%2Fa%20b%2Fpostgres:5432/agentdeck"
        );
    }

    #[test]
    fn a_configured_directory_without_binaries_is_named() {
        let error = find_binaries(Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(
            error.to_string().contains("AGENTDECK_PG_BIN=/nonexistent"),
            "{error}"
        );
    }
}
