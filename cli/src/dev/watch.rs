//! Watching: the agent's files polled for their modification times and
//! sizes, and a run after every save. No watcher dependency, and the same
//! on every platform.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{InputFrom, Session, Target, say};
use crate::Failure;
use crate::folder;

/// How often the watched files are looked at; a save is taken once they
/// stayed the same for one more look.
const POLL: Duration = Duration::from_millis(250);

impl Session {
    /// The files a save of which runs the agent again, with the names to
    /// say.
    fn watched(&self) -> Vec<(String, PathBuf)> {
        let mut files = Vec::new();
        let shown = |path: &Path| path.display().to_string();
        match &self.target {
            Target::Folder(dir) => {
                files.push((folder::SOURCE.to_owned(), dir.join(folder::SOURCE)));
                if self.dev.manifest.is_none() {
                    files.push((folder::MANIFEST.to_owned(), dir.join(folder::MANIFEST)));
                }
                if matches!(self.input, InputFrom::Example) {
                    files.push((folder::EXAMPLE.to_owned(), dir.join(folder::EXAMPLE)));
                }
            }
            Target::File(path) => files.push((shown(path), path.clone())),
        }
        if let Some(path) = &self.dev.manifest {
            files.push((shown(path), path.clone()));
        }
        if let InputFrom::File(path) = &self.input {
            files.push((shown(path), path.clone()));
        }
        files
    }

    /// Runs the agent, then again after every save, until Ctrl-C.
    pub(super) async fn watch(&self, json: bool, out: &mut dyn Write) -> Result<(), Failure> {
        let watched = self.watched();
        let mut because = String::new();
        for number in 1_u64.. {
            let before = snapshot(&watched);
            if !json {
                writeln!(out, "— run {number}{because} —")?;
            }
            let attempt = self.attempt().await;
            say(out, json, &attempt, true)?;
            if number == 1 && !json {
                if let Some(grants) = self.grants() {
                    writeln!(out, "{grants}")?;
                }
                let names: Vec<&str> = watched.iter().map(|(name, _)| name.as_str()).collect();
                writeln!(
                    out,
                    "Watching {} for changes (Ctrl-C to stop).",
                    names.join(", ")
                )?;
            }
            out.flush()?;
            let changed = next_save(&watched, &before).await;
            because = format!(" ({} changed)", changed.join(", "));
        }
        Ok(())
    }
}

/// A watched file's modification time and size (None: absent).
type Seen = Vec<Option<(SystemTime, u64)>>;

fn snapshot(watched: &[(String, PathBuf)]) -> Seen {
    watched
        .iter()
        .map(|(_, path)| {
            let metadata = std::fs::metadata(path).ok()?;
            Some((metadata.modified().ok()?, metadata.len()))
        })
        .collect()
}

/// Waits for the next save: a change from `before` that then holds still
/// for one poll, so a save written in several steps (truncate, write,
/// rename) runs the agent once. The names of the files that changed.
async fn next_save(watched: &[(String, PathBuf)], before: &Seen) -> Vec<String> {
    loop {
        tokio::time::sleep(POLL).await;
        let mut now = snapshot(watched);
        if now == *before {
            continue;
        }
        loop {
            tokio::time::sleep(POLL).await;
            let later = snapshot(watched);
            if later == now {
                break;
            }
            now = later;
        }
        let changed: Vec<String> = watched
            .iter()
            .zip(before.iter().zip(&now))
            .filter(|(_, (was, is))| was != is)
            .map(|((name, _), _)| name.clone())
            .collect();
        if !changed.is_empty() {
            return changed;
        }
    }
}
