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

    fn path_for(&self, dir: &Path, bytes: &[u8]) -> PathBuf {
        let digest: String = Sha256::digest(bytes)
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
        self.load_or_make(engine, bytes, || Ok(bytes.to_vec()))
    }

    /// The compiled component cached under `key` (the bytes it is made
    /// from, with whatever names how): from the cache when it is there and
    /// loads, otherwise `make`'s component compiled and stored.
    pub fn load_or_make(
        &self,
        engine: &Engine,
        key: &[u8],
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Component, String> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, make()?).map_err(|error| format!("{error:#}"));
        };
        let path = self.path_for(dir, key);
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
    std::fs::create_dir_all(dir)?;
    // A name no other writer (thread or process) uses at the same time.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("tmp-{}-{write}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
