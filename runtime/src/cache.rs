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
            .take(16)
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
            match deserialize(engine, &path) {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cached component did not load; compiling again")
                }
            }
        }
        let component = Component::new(engine, make()?).map_err(|error| format!("{error:#}"))?;
        if let Err(error) = store(&component, dir, &path) {
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

fn store(component: &Component, dir: &Path, path: &Path) -> std::io::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    create_private_dir(dir)?;
    // A name no other writer (thread or process) uses at the same time.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("tmp-{}-{write}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// The cache's directory, readable and writable by this user only: what
/// is in it is loaded as machine code, and the snapshot's memory image is
/// mapped from its file into every run.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}
