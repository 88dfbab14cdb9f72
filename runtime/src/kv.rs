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

/// A store in memory, for tests, test runs and `agentdeck dev`.
#[derive(Debug)]
pub struct MemoryKv {
    entries: Mutex<Entries>,
    max_keys: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: BTreeMap<String, String>,
    /// Keys and values, in bytes.
    bytes: usize,
}

/// Most keys an in-memory store (a test run's, a try's) holds: fewer than
/// a deployment's (10,000), since the server's own memory holds them.
pub const MEMORY_MAX_KEYS: usize = 1_000;
/// Most bytes (keys and values) an in-memory store holds.
pub const MEMORY_MAX_BYTES: usize = 4 << 20;

impl Default for MemoryKv {
    fn default() -> Self {
        Self::bounded(MEMORY_MAX_KEYS, MEMORY_MAX_BYTES)
    }
}

impl MemoryKv {
    /// A store of at most `MEMORY_MAX_KEYS` keys and `MEMORY_MAX_BYTES`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store of at most `max_keys` keys and `max_bytes` of keys and values.
    pub fn bounded(max_keys: usize, max_bytes: usize) -> Self {
        Self {
            entries: Mutex::default(),
            max_keys,
            max_bytes,
        }
    }

    /// Everything in the store, for inspection.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.entries
            .lock()
            .map(|entries| entries.map.clone())
            .unwrap_or_default()
    }

    fn with<T>(&self, action: impl FnOnce(&mut Entries) -> T) -> Result<T, String> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| "the store is unavailable".to_owned())?;
        Ok(action(&mut entries))
    }
}

impl KvStore for MemoryKv {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move { self.with(|entries| entries.map.get(key).cloned()) })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.with(|entries| {
                let old = entries.map.get(key).map(|v| key.len() + v.len());
                if old.is_none() && entries.map.len() >= self.max_keys {
                    return Err(format!(
                        "the store is full ({} keys); delete some first",
                        self.max_keys
                    ));
                }
                let bytes = entries.bytes - old.unwrap_or(0) + key.len() + value.len();
                if bytes > self.max_bytes {
                    return Err(format!(
                        "the store is full ({} KiB of keys and values); delete some first",
                        self.max_bytes >> 10
                    ));
                }
                entries.map.insert(key.to_owned(), value.to_owned());
                entries.bytes = bytes;
                Ok(())
            })?
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            self.with(|entries| match entries.map.remove(key) {
                Some(value) => {
                    entries.bytes -= key.len() + value.len();
                    true
                }
                None => false,
            })
        })
    }

    fn keys<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            self.with(|entries| {
                entries
                    .map
                    .range(prefix.to_owned()..)
                    .take_while(|(key, _)| key.starts_with(prefix))
                    .take(limit as usize)
                    .map(|(key, _)| key.clone())
                    .collect()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_store_holds_at_most_its_keys_and_bytes() {
        let kv = MemoryKv::bounded(3, 100);
        kv.set("a", &"x".repeat(40)).await.expect("room");
        kv.set("b", &"x".repeat(40)).await.expect("room");
        let full = kv
            .set("c", &"x".repeat(40))
            .await
            .expect_err("over 100 bytes");
        assert!(full.contains("full"), "{full}");
        // Replacing a value counts only the difference; deleting frees it.
        kv.set("a", &"y".repeat(10)).await.expect("smaller");
        kv.set("c", &"x".repeat(40)).await.expect("room again");
        let keys = kv.set("d", "1").await.expect_err("over 3 keys");
        assert!(keys.contains("3 keys"), "{keys}");
        assert!(kv.delete("b").await.expect("deleted"));
        kv.set("d", "1").await.expect("a key free");
        assert_eq!(kv.snapshot().len(), 3);
    }
}
