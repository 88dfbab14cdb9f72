//! The agent sandbox as the service layer uses it: one `runtime::Runtime`,
//! started in the background (loading the JavaScript runner takes about a
//! millisecond from the cache, seconds the first time), and the services
//! behind agents' capabilities (the language model, the HTTP fetcher).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use runtime::http::Fetcher;
use runtime::llm::LlmProvider;
use runtime::{Limits, PrepareError, PreparedAgent, Runtime, RuntimeOptions};
use tokio::sync::OnceCell;

use super::{ServiceError, Services};

/// The sandbox of this server, or 503 where it runs none.
pub fn of(services: &Services) -> Result<&Arc<Sandbox>, ServiceError> {
    services.sandbox.as_ref().ok_or_else(|| {
        ServiceError::Unavailable("the agent sandbox is not running on this server".into())
    })
}

pub struct Sandbox {
    runtime: OnceCell<Result<Arc<Runtime>, String>>,
    /// Prepared published versions by the SHA-256 of their source: a
    /// version is immutable, so it is prepared once per process.
    prepared: Mutex<HashMap<String, PreparedAgent>>,
    options: RuntimeOptions,
    pub llm: Arc<dyn LlmProvider>,
    pub fetcher: Fetcher,
    /// Test runs' and tries' share of this sandbox (`trials`).
    pub trials: crate::trials::TrialGate,
    /// The models agents may ask for, and their prices (`llm`).
    pub models: crate::models::Models,
}

impl Sandbox {
    pub fn new(cache_dir: Option<PathBuf>, llm: Arc<dyn LlmProvider>, fetcher: Fetcher) -> Self {
        Self {
            runtime: OnceCell::new(),
            prepared: Mutex::new(HashMap::new()),
            options: RuntimeOptions {
                cache_dir,
                ..RuntimeOptions::default()
            },
            llm,
            fetcher,
            trials: crate::trials::TrialGate::new(crate::trials::TrialLimits::default()),
            models: crate::models::Models::default(),
        }
    }

    /// `AGENTDECK_LLM_MODELS`.
    pub fn with_models(mut self, models: crate::models::Models) -> Self {
        self.models = models;
        self
    }

    /// The runtime, started on first use (callers wait for it once).
    pub async fn runtime(&self) -> Result<Arc<Runtime>, ServiceError> {
        let started = self
            .runtime
            .get_or_init(|| async {
                let options = self.options.clone();
                match tokio::task::spawn_blocking(move || Runtime::new(options)).await {
                    Ok(Ok(runtime)) => Ok(Arc::new(runtime)),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(error) => Err(format!("the sandbox start-up task failed: {error}")),
                }
            })
            .await;
        match started {
            Ok(runtime) => Ok(Arc::clone(runtime)),
            Err(error) => Err(ServiceError::Internal(anyhow::anyhow!(
                "the sandbox could not start: {error}"
            ))),
        }
    }

    /// A published version's script, prepared once per content (`sha256`).
    pub async fn prepare_version(
        &self,
        runtime: &Runtime,
        sha256: &str,
        name: &str,
        source: &str,
        limits: &Limits,
    ) -> Result<PreparedAgent, PrepareError> {
        if let Some(prepared) = self.cached(sha256) {
            return Ok(prepared);
        }
        let prepared = runtime.prepare_javascript(name, source, limits).await?;
        let mut cache = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= PREPARED_KEPT {
            cache.clear();
        }
        cache.insert(sha256.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn cached(&self, sha256: &str) -> Option<PreparedAgent> {
        let cache = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(sha256).cloned()
    }
}

/// Prepared versions kept at most; past that the cache starts over.
const PREPARED_KEPT: usize = 1024;
