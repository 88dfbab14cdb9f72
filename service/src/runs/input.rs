//! A run's input checked against its agent version's input schema, before
//! any sandbox work, on every way a run starts.
//!
//! Deployments' schemas are kept compiled in memory by deployment, with
//! the version they belong to. The fast start statement runs only for the
//! version the input was checked against (`dep.version_id = @version`):
//! after a redeploy, here or on another server, it does nothing and the
//! slow path checks the input against the version it locks. An input a
//! kept schema refuses also goes the slow path, so a refusal is only ever
//! answered after the caller's access is checked: a stranger holding a
//! deployment's id learns nothing of its schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use types::json_schema::Schema;
use uuid::Uuid;

use crate::ServiceError;

/// The most schema JSON kept, in bytes (an entry without a schema counts
/// as 64). Compiled, a schema takes some times its JSON's size; patterns
/// are bounded apart (`json_schema::MAX_PATTERNS`, each at most 64 KiB).
const BUDGET_BYTES: usize = 8 << 20;
const ENTRY_BYTES: usize = 64;

/// A deployment's version and its compiled input schema (None: any JSON).
#[derive(Clone)]
pub struct Kept {
    pub version: Uuid,
    pub schema: Option<Arc<Schema>>,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    by_deployment: HashMap<Uuid, Kept>,
    bytes: usize,
}

/// The input schemas of deployments recently run from this process.
pub struct InputSchemas {
    inner: Mutex<Inner>,
    budget: usize,
}

impl Default for InputSchemas {
    fn default() -> Self {
        Self::with_budget(BUDGET_BYTES)
    }
}

impl InputSchemas {
    fn with_budget(budget: usize) -> Self {
        Self {
            inner: Mutex::default(),
            budget,
        }
    }

    pub fn get(&self, deployment: Uuid) -> Option<Kept> {
        self.inner
            .lock()
            .ok()
            .and_then(|inner| inner.by_deployment.get(&deployment).cloned())
    }

    /// Keeps `deployment`'s schema of `version`, dropping others (any) to
    /// stay within the budget.
    pub fn keep(&self, deployment: Uuid, version: Uuid, manifest: &Value) -> Kept {
        if let Some(kept) = self.get(deployment).filter(|kept| kept.version == version) {
            return kept;
        }
        let (schema, bytes) = compiled(manifest);
        let kept = Kept {
            version,
            schema,
            bytes: bytes + ENTRY_BYTES,
        };
        if let Ok(mut inner) = self.inner.lock() {
            if let Some(old) = inner.by_deployment.remove(&deployment) {
                inner.bytes -= old.bytes;
            }
            while inner.bytes + kept.bytes > self.budget {
                let Some(victim) = inner.by_deployment.keys().next().copied() else {
                    break;
                };
                if let Some(old) = inner.by_deployment.remove(&victim) {
                    inner.bytes -= old.bytes;
                }
            }
            inner.bytes += kept.bytes;
            inner.by_deployment.insert(deployment, kept.clone());
        }
        kept
    }
}

/// The input schema of a stored manifest, compiled, and its size. A stored
/// schema was checked when its version was published; one that no longer
/// compiles (the subset changed) is logged and checks nothing, rather than
/// stopping every run of the deployments on it.
fn compiled(manifest: &Value) -> (Option<Arc<Schema>>, usize) {
    let Some(schema) = manifest
        .get("input_schema")
        .filter(|schema| !schema.is_null())
    else {
        return (None, 0);
    };
    let bytes = serde_json::to_string(schema).map_or(0, |text| text.len());
    match Schema::compile(schema) {
        Ok(schema) => (Some(Arc::new(schema)), bytes),
        Err(error) => {
            tracing::warn!(%error, "a stored input schema does not compile; inputs go unchecked");
            (None, 0)
        }
    }
}

/// Inputs larger than this (JSON bytes) are checked on a blocking thread:
/// a check may take tens of milliseconds (docs/BENCHMARKS.md, "Input
/// schemas"), which would stall the other tasks of an async worker.
const INLINE_BYTES: usize = 64 << 10;

/// Whether `input` (`size` bytes of JSON) meets `schema` (None: anything
/// does).
pub async fn meets(schema: Option<&Arc<Schema>>, input: &Value, size: usize) -> bool {
    match schema {
        None => true,
        Some(schema) if size <= INLINE_BYTES => schema.accepts(input),
        Some(schema) => {
            let (schema, input) = (Arc::clone(schema), input.clone());
            tokio::task::spawn_blocking(move || schema.accepts(&input))
                .await
                .unwrap_or(false)
        }
    }
}

/// `input` (`size` bytes of JSON) against `schema`: each violation with
/// its path, as a 422.
pub async fn check(
    schema: Option<&Arc<Schema>>,
    input: &Value,
    size: usize,
) -> Result<(), ServiceError> {
    let checked = match schema {
        None => return Ok(()),
        Some(schema) if size <= INLINE_BYTES => schema.check(input, "input"),
        Some(schema) => {
            let (schema, input) = (Arc::clone(schema), input.clone());
            tokio::task::spawn_blocking(move || schema.check(&input, "input"))
                .await
                .map_err(|error| {
                    ServiceError::Internal(anyhow::anyhow!("an input check failed: {error}"))
                })?
        }
    };
    checked.map_err(ServiceError::InvalidInput)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kept_schemas_stay_within_the_budget() {
        let schemas = InputSchemas::with_budget(100_000);
        let manifest =
            json!({"input_schema": {"description": "x".repeat(30_000), "type": "object"}});
        for _ in 0..20 {
            let kept = schemas.keep(Uuid::new_v4(), Uuid::new_v4(), &manifest);
            assert!(kept.schema.is_some());
        }
        let inner = schemas.inner.lock().unwrap();
        assert!(inner.bytes <= 100_000, "{}", inner.bytes);
        assert_eq!(inner.by_deployment.len(), 3);
        assert!(inner.by_deployment.len() < 20);
        let counted: usize = inner.by_deployment.values().map(|kept| kept.bytes).sum();
        assert_eq!(counted, inner.bytes);
    }

    #[tokio::test]
    async fn manifests_without_a_schema_take_anything() {
        let schemas = InputSchemas::default();
        let deployment = Uuid::new_v4();
        let kept = schemas.keep(deployment, Uuid::new_v4(), &json!({"limits": {}}));
        assert!(kept.schema.is_none());
        assert!(meets(None, &json!([1, "two"]), 9).await);
        let kept = schemas.keep(
            deployment,
            Uuid::new_v4(),
            &json!({"input_schema": {"type": "object", "required": ["a"]}}),
        );
        // Small inputs inline, large ones on a blocking thread: the same.
        for size in [2, INLINE_BYTES + 1] {
            assert!(!meets(kept.schema.as_ref(), &json!({}), size).await);
            match check(kept.schema.as_ref(), &json!({}), size).await {
                Err(ServiceError::InvalidInput(violations)) => {
                    assert_eq!(violations[0].path, "input.a");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            schemas.get(deployment).map(|kept| kept.version),
            Some(kept.version)
        );
    }
}
