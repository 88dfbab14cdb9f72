//! The agent sandbox as the service layer uses it: one `runtime::Runtime`,
//! started in the background (loading the JavaScript runner takes about a
//! millisecond from the cache, seconds the first time), and the services
//! behind agents' capabilities (the language model, the HTTP fetcher).

use std::path::PathBuf;
use std::sync::Arc;

use runtime::http::Fetcher;
use runtime::llm::LlmProvider;
use runtime::{Runtime, RuntimeOptions};
use tokio::sync::OnceCell;

use super::ServiceError;

pub struct Sandbox {
    runtime: OnceCell<Result<Arc<Runtime>, String>>,
    options: RuntimeOptions,
    pub llm: Arc<dyn LlmProvider>,
    pub fetcher: Fetcher,
}

impl Sandbox {
    pub fn new(cache_dir: Option<PathBuf>, llm: Arc<dyn LlmProvider>, fetcher: Fetcher) -> Self {
        Self {
            runtime: OnceCell::new(),
            options: RuntimeOptions {
                cache_dir,
                ..RuntimeOptions::default()
            },
            llm,
            fetcher,
        }
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
}
