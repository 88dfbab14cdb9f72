//! Key-value storage for agents: the trait the server implements over
//! PostgreSQL (one store per deployment) and an in-memory store for tests and
//! the command line.

use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value (JSON text), in bytes.
pub const MAX_VALUE_BYTES: usize = 256 << 10;
/// Most keys `keys` answers at once.
pub const MAX_LIST: u32 = 1_000;

/// One deployment's key-value store. Errors are messages for the agent (the
/// implementation logs its own details).
pub trait KvStore: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), String>>;
    /// True when the key existed.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, String>>;
    /// Keys starting with `prefix`, in byte order, at most `limit`.
    fn keys<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, String>>;
}

/// A store in memory, for tests and `agentdeck-agent run`.
#[derive(Debug, Default)]
pub struct MemoryKv {
    entries: Mutex<BTreeMap<String, String>>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything in the store, for inspection.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.entries
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    fn with<T>(
        &self,
        action: impl FnOnce(&mut BTreeMap<String, String>) -> T,
    ) -> Result<T, String> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| "the store is unavailable".to_owned())?;
        Ok(action(&mut entries))
    }
}

impl KvStore for MemoryKv {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move { self.with(|entries| entries.get(key).cloned()) })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.with(|entries| {
                entries.insert(key.to_owned(), value.to_owned());
            })
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { self.with(|entries| entries.remove(key).is_some()) })
    }

    fn keys<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            self.with(|entries| {
                entries
                    .range(prefix.to_owned()..)
                    .take_while(|(key, _)| key.starts_with(prefix))
                    .take(limit as usize)
                    .map(|(key, _)| key.clone())
                    .collect()
            })
        })
    }
}
