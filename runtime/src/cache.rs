//! Compiled components kept on disk by content hash, so a restart loads a
//! component in about a millisecond instead of compiling it again.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Clone)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    /// Artifacts load only into an engine with the same wasmtime version and
    /// code-generation settings (fuel, epochs, …): this names that setting.
    engine_key: String,
}

impl ArtifactCache {
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        // What is in the directory is loaded as machine code: one another
        // user could write to is not used (compiled in memory instead).
        let dir = dir.and_then(|dir| match private_dir(&dir) {
            Ok(canonical) => Some(canonical),
            Err(why) => {
                tracing::error!(dir = %dir.display(), why, "not caching compiled components there: give the cache a directory of its own (AGENTDECK_CWASM_DIR)");
                None
            }
        });
        Self { dir, engine_key }
    }

    /// Where the artifact of `kind` made from `parts` is kept: kinds never
    /// share a name, and each part is hashed with its length.
    fn path_for(&self, dir: &Path, kind: &str, parts: &[&[u8]]) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_bytes());
        hasher.update([0]);
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The compiled component for `bytes`: from the cache when it is there
    /// and loads, compiled (and stored) otherwise. Errors are messages about
    /// the component.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
        self.load_or_make(engine, "component", &[bytes], || Ok(bytes.to_vec()))
    }

    /// The compiled component of `kind` cached under `parts` (what it is
    /// made from, and how): from the cache when it is there and loads,
    /// otherwise `make`'s component compiled and stored.
    pub fn load_or_make(
        &self,
        engine: &Engine,
        kind: &str,
        parts: &[&[u8]],
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Component, String> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, make()?).map_err(|error| format!("{error:#}"));
        };
        let path = self.path_for(dir, kind, parts);
        if path.exists() {
            match trusted_file(&path)
                .and_then(|()| deserialize(engine, &path).map_err(|error| format!("{error:#}")))
            {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cached component did not load; compiling again")
                }
            }
        }
        let component = Component::new(engine, make()?).map_err(|error| format!("{error:#}"))?;
        if let Err(error) = store(&component, &path) {
            tracing::warn!(path = %path.display(), %error, "could not cache a compiled component");
        }
        Ok(component)
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output
    // for this engine configuration. Only this module writes to the cache
    // directory, under a name that includes the engine's compatibility hash,
    // and it writes atomically (temporary file, then rename), so the file is
    // one this process's engine configuration produced and nothing else.
    unsafe { Component::deserialize_file(engine, path) }
}

/// Whether the file at `path` is one this user wrote and nobody else could
/// have changed: a regular file (not a link), ours, writable by us alone,
/// with no other name. A file that is not is removed (and compiled again).
fn trusted_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let metadata = std::fs::symlink_metadata(path).map_err(|error| error.to_string())?;
        let trusted = metadata.file_type().is_file()
            && metadata.uid() == effective_uid()
            && metadata.mode() & 0o022 == 0
            && metadata.nlink() == 1;
        if !trusted {
            let _ = std::fs::remove_file(path);
            return Err("not a file this user alone wrote: removed".into());
        }
    }
    let _ = path;
    Ok(())
}

fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let bytes = component
        .serialize()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    // A new file (never one that is there, nor a link), readable by this
    // user only, under a name no other writer (thread or process) uses at
    // the same time; then renamed into place whole.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let temporary = path.with_extension(format!("tmp-{}-{write}-{nanos}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(&bytes).and_then(|()| file.sync_all()));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    std::fs::rename(&temporary, path)
}

/// The cache's directory, canonical: made (mode 0700) when missing;
/// refused when anyone but this user (or root) owns it or any directory
/// above it, or could write to one (a sticky directory, like /tmp, above
/// one of ours excepted), since its files are loaded as machine code and
/// the snapshot's memory image is mapped from its file into every run. An
/// existing directory's mode is never changed.
fn private_dir(dir: &Path) -> Result<PathBuf, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|error| format!("cannot make it: {error}"))?;
        }
        let canonical = std::fs::canonicalize(dir).map_err(|error| error.to_string())?;
        let me = effective_uid();
        let mut below_is_ours = false;
        // From the cache itself up to the root.
        for (depth, ancestor) in canonical.ancestors().enumerate() {
            let metadata = std::fs::metadata(ancestor).map_err(|error| error.to_string())?;
            let owner_ok = metadata.uid() == me || metadata.uid() == 0;
            let sticky = metadata.mode() & 0o1000 != 0;
            let writable_by_others = metadata.mode() & 0o022 != 0;
            if depth == 0 && metadata.uid() != me {
                return Err("another user owns it".into());
            }
            if !owner_ok {
                return Err(format!("another user owns {}", ancestor.display()));
            }
            if writable_by_others && !(sticky && below_is_ours) {
                return Err(format!(
                    "others may write to {} (make it 0700 or 0755)",
                    ancestor.display()
                ));
            }
            below_is_ours = metadata.uid() == me || metadata.uid() == 0;
        }
        Ok(canonical)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
        Ok(dir.to_path_buf())
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_directory_others_may_write_to_is_not_used() {
        let engine = Engine::default();
        let parent = tempfile::tempdir().unwrap();

        let made = parent.path().join("made");
        assert!(
            ArtifactCache::new(Some(made.clone()), &engine)
                .dir
                .is_some()
        );
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "made private");

        let open = parent.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            ArtifactCache::new(Some(open.clone()), &engine)
                .dir
                .is_none()
        );
        let mode = std::fs::metadata(&open).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o777,
            "an existing directory's mode is left alone"
        );
    }

    #[test]
    fn a_directory_below_one_others_may_write_to_is_not_used() {
        let engine = Engine::default();
        let parent = tempfile::tempdir().unwrap();
        let open = parent.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        // Made 0700 by the cache, but whoever may write to `open` could
        // put another directory in its place.
        assert!(
            ArtifactCache::new(Some(open.join("cache")), &engine)
                .dir
                .is_none()
        );
    }

    #[test]
    fn a_cached_file_others_could_have_written_is_removed_not_loaded() {
        let parent = tempfile::tempdir().unwrap();
        let file = parent.path().join("artifact.cwasm");
        std::fs::write(&file, b"not wasmtime's").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(trusted_file(&file).is_err());
        assert!(!file.exists(), "removed");

        std::fs::write(&file, b"ours").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(trusted_file(&file).is_ok());
        let link = parent.path().join("link.cwasm");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(trusted_file(&link).is_err(), "a link is not loaded");
        let hard = parent.path().join("hard.cwasm");
        std::fs::hard_link(&file, &hard).unwrap();
        assert!(trusted_file(&hard).is_err(), "nor a file with another name");
    }
}
