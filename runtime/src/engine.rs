//! The sandbox: wasmtime in the one configuration Agentdeck runs agents with,
//! preparing agent versions once and running them many times.

use crate::cache::ArtifactCache;
use crate::host::bindings::agent::AgentPre;
use crate::host::bindings::runner::JsRunnerPre;
use crate::host::{HostContext, MemoryLimitExceeded, RunState, Script};
use crate::limits::{Capabilities, Limits};
use crate::outcome::{AgentFailure, Outcome, PrepareError, RunError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

/// The JavaScript runner component, built from `agents/js-runner` by
/// build.rs.
static JS_RUNNER: &[u8] = include_bytes!(env!("AGENTDECK_JS_RUNNER_WASM"));

/// What of a memory slot stays mapped between instances, reset whole
/// after each run (copied back from the image, or zeroed): the JavaScript
/// runner's engine, set up in its snapshot, lies within it, and copying it
/// back costs less than faulting it in again (docs/BENCHMARKS.md).
const LINEAR_MEMORY_KEEP_RESIDENT: usize = 4 << 20;
/// The part of a run's async stack kept mapped between runs.
const ASYNC_STACK_KEEP_RESIDENT: usize = 256 << 10;

/// How often the engine's epoch advances: the precision of deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The longest JavaScript source accepted.
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// The largest component accepted (the JavaScript runner is about 8 MB).
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

/// Tuning of the sandbox. The defaults are what the server uses.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are kept between restarts; `None` keeps
    /// them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Runs at once; more wait for a slot. Sizes the pooling allocator.
    pub max_concurrent_runs: u32,
    /// The ceiling any manifest's limits are clamped to.
    pub max_limits: Limits,
    /// Deadlines by epoch interruption. Only the benchmark measuring its
    /// cost turns this off; without it a spinning agent is stopped only by
    /// its fuel.
    pub epoch_interruption: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_concurrent_runs: 64,
            max_limits: Limits::platform_maximum(),
            epoch_interruption: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the sandbox engine could not be configured: {0}")]
    Engine(String),
    #[error("the JavaScript runner could not be loaded: {0}")]
    Runner(String),
}

/// An agent version ready to run: compiled, linked, and for JavaScript the
/// script checked. Cheap to clone and to keep.
#[derive(Clone)]
pub struct PreparedAgent {
    pre: AgentPre<RunState>,
    script: Option<Arc<Script>>,
    digest: String,
}

impl PreparedAgent {
    /// SHA-256 of the script or component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn is_javascript(&self) -> bool {
        self.script.is_some()
    }
}

/// The JavaScript runner, linked once: `agent` is how scripts run, `checker`
/// how they are checked when a version is prepared.
struct Runner {
    agent: AgentPre<RunState>,
    checker: JsRunnerPre<RunState>,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<RunState>,
    runner: Runner,
    cache: ArtifactCache,
    components: Mutex<HashMap<String, AgentPre<RunState>>>,
    slots: Semaphore,
    options: RuntimeOptions,
    ticker_stop: Arc<AtomicBool>,
    runner_snapshot: bool,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Why a run stopped at its deadline (raised from the epoch callback).
#[derive(Debug, thiserror::Error)]
#[error("the run's deadline passed")]
struct DeadlineReached;

impl Runtime {
    /// Configures the engine and loads the JavaScript runner (compiling it
    /// the first time, which takes seconds; later starts load it from the
    /// cache directory in about a millisecond).
    pub fn new(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let engine = new_engine(&options)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|error| RuntimeError::Engine(error.to_string()))?;
        crate::host::bindings::agent::Agent::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| {
            state
        })
        .map_err(|error| RuntimeError::Engine(error.to_string()))?;
        crate::host::bindings::runner::agentdeck::agent::script::add_to_linker::<_, HasSelf<_>>(
            &mut linker,
            |state| state,
        )
        .map_err(|error| RuntimeError::Engine(error.to_string()))?;

        let cache = ArtifactCache::new(options.cache_dir.clone(), &engine);
        let (component, runner_snapshot) = runner_component(&engine, &cache)?;
        let instance = linker
            .instantiate_pre(&component)
            .map_err(|error| RuntimeError::Runner(error.to_string()))?;
        let runner = Runner {
            agent: AgentPre::new(instance.clone())
                .map_err(|error| RuntimeError::Runner(error.to_string()))?,
            checker: JsRunnerPre::new(instance)
                .map_err(|error| RuntimeError::Runner(error.to_string()))?,
        };

        let ticker_stop = Arc::new(AtomicBool::new(false));
        if options.epoch_interruption {
            let engine = engine.clone();
            let stop = Arc::clone(&ticker_stop);
            std::thread::Builder::new()
                .name("agent-epochs".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|error| RuntimeError::Engine(format!("epoch thread: {error}")))?;
        }

        Ok(Self {
            engine,
            linker,
            runner,
            cache,
            components: Mutex::default(),
            slots: Semaphore::new(options.max_concurrent_runs as usize),
            options,
            ticker_stop,
            runner_snapshot,
        })
    }

    /// Prepares a JavaScript agent: the script is parsed and its top-level
    /// code run once, under `limits`, so syntax errors come back now with
    /// line and column. No compiler is involved: the script is data for the
    /// runner.
    pub async fn prepare_javascript(
        &self,
        name: &str,
        source: &str,
        limits: &Limits,
    ) -> Result<PreparedAgent, PrepareError> {
        if source.len() > MAX_SCRIPT_BYTES {
            return Err(PrepareError::Script(AgentFailure {
                code: "too-large".into(),
                message: format!("the script is larger than {} KiB", MAX_SCRIPT_BYTES >> 10),
                line: None,
                column: None,
            }));
        }
        let script = Arc::new(Script {
            name: name.to_owned(),
            source: source.to_owned(),
        });
        let limits = limits.clamped(&self.options.max_limits);
        let (_slot, mut store) = self.checking(&limits, Some(Arc::clone(&script))).await?;
        let checked = tokio::time::timeout(limits.timeout(), async {
            let runner = self.runner.checker.instantiate_async(&mut store).await?;
            runner
                .agentdeck_agent_checker()
                .call_check(&mut store)
                .await
        })
        .await;
        let failure = match checked {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(error))) => Some(PrepareError::Script(agent_failure(error))),
            Ok(Err(error)) => Some(PrepareError::Load(classify(&error, &limits))),
            Err(_) => Some(PrepareError::Load(RunError::TimedOut {
                limit: limits.timeout(),
            })),
        };
        if let Some(failure) = failure {
            return Err(failure);
        }
        Ok(PreparedAgent {
            pre: self.runner.agent.clone(),
            script: Some(script),
            digest: hex_digest(source.as_bytes()),
        })
    }

    /// Prepares a component built from any language against the agent world:
    /// compiled once per content (kept in the cache directory), then linked.
    /// Refused when it is not a component or imports what the sandbox does
    /// not offer.
    pub async fn prepare_component(&self, bytes: &[u8]) -> Result<PreparedAgent, PrepareError> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(PrepareError::InvalidComponent(format!(
                "it is larger than {} MiB",
                MAX_COMPONENT_BYTES >> 20
            )));
        }
        let digest = hex_digest(bytes);
        if let Some(pre) = self
            .components
            .lock()
            .ok()
            .and_then(|components| components.get(&digest).cloned())
        {
            return Ok(PreparedAgent {
                pre,
                script: None,
                digest,
            });
        }
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let owned = bytes.to_vec();
        let component = tokio::task::spawn_blocking(move || cache.load_or_compile(&engine, &owned))
            .await
            .map_err(|error| PrepareError::Internal(error.to_string()))?
            .map_err(PrepareError::InvalidComponent)?;
        let instance = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| PrepareError::InvalidComponent(format!("{error:#}")))?;
        let pre = AgentPre::new(instance)
            .map_err(|error| PrepareError::InvalidComponent(format!("{error:#}")))?;
        self.try_instantiate(&pre).await?;
        if let Ok(mut components) = self.components.lock() {
            components.insert(digest.clone(), pre.clone());
        }
        Ok(PreparedAgent {
            pre,
            script: None,
            digest,
        })
    }

    /// A health check of a prepared agent: a fresh instance is made in a
    /// sandbox slot as a run would get it, without running it. It proves a
    /// slot is free, the component links and its memory fits its limits.
    pub async fn health_check(&self, agent: &PreparedAgent) -> Result<(), PrepareError> {
        self.try_instantiate(&agent.pre).await
    }

    /// Instantiates a new component once, without running it, so one the
    /// sandbox cannot hold (more instances, memories or table entries than
    /// a slot has, initial memory over the limit, start code that traps) is
    /// refused now rather than at every run.
    async fn try_instantiate(&self, pre: &AgentPre<RunState>) -> Result<(), PrepareError> {
        let limits = Limits::default().clamped(&self.options.max_limits);
        let (_slot, mut store) = self.checking(&limits, None).await?;
        match tokio::time::timeout(limits.timeout(), pre.instantiate_async(&mut store)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(match classify(&error, &limits) {
                RunError::Busy => PrepareError::Internal("the sandbox is at capacity".into()),
                RunError::Internal { .. } => PrepareError::InvalidComponent(format!(
                    "it cannot be instantiated here: {error:#}"
                )),
                other => PrepareError::Load(other),
            }),
            Err(_) => Err(PrepareError::Load(RunError::TimedOut {
                limit: limits.timeout(),
            })),
        }
    }

    /// Runs a prepared agent once in a fresh sandbox. Never fails as a
    /// call: everything that can go wrong is in the outcome.
    pub async fn run(
        &self,
        agent: &PreparedAgent,
        input: &str,
        limits: &Limits,
        host: HostContext,
    ) -> Outcome {
        let limits = limits.clamped(&self.options.max_limits);
        let Ok(_slot) = self.slots.acquire().await else {
            return Outcome {
                result: Err(RunError::Busy),
                logs: Vec::new(),
                logs_truncated: false,
                duration: Duration::ZERO,
                fuel_used: 0,
                peak_memory_bytes: 0,
                llm: crate::llm::Usage::default(),
            };
        };
        let started = Instant::now();
        let mut store = self.store(&limits, host, agent.script.clone(), started);
        let called = tokio::time::timeout(limits.timeout(), async {
            let instance = agent.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, input).await
        })
        .await;
        let duration = started.elapsed();
        let result = match called {
            Ok(Ok(Ok(output))) => check_output(output, &limits),
            Ok(Ok(Err(error))) => Err(match agent_failure(error) {
                failure if failure.code == "stack-exhausted" => RunError::StackExhausted {
                    detail: failure.message,
                },
                failure => RunError::Agent(failure),
            }),
            Ok(Err(error)) => Err(classify(&error, &limits)),
            Err(_) => Err(RunError::TimedOut {
                limit: limits.timeout(),
            }),
        };
        if let Err(RunError::Internal { detail }) = &result {
            tracing::error!(digest = %agent.digest, %detail, "agent run failed inside the sandbox");
        }
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data_mut();
        state.collect_stdio();
        Outcome {
            result,
            logs: std::mem::take(&mut state.log.lines),
            logs_truncated: state.log.truncated,
            duration,
            fuel_used,
            peak_memory_bytes: state.meter.peak,
            llm: state.llm_used,
        }
    }

    /// A store for one run: memory limiter, fuel, and a deadline checked at
    /// every epoch tick (yielding to other tasks in between).
    /// A sandbox slot and a store with no capabilities, for checking a
    /// script or a component before any run.
    async fn checking(
        &self,
        limits: &Limits,
        script: Option<Arc<Script>>,
    ) -> Result<(tokio::sync::SemaphorePermit<'_>, Store<RunState>), PrepareError> {
        let slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| PrepareError::Internal("the sandbox is shutting down".into()))?;
        let host = HostContext::new(Capabilities::default());
        Ok((slot, self.store(limits, host, script, Instant::now())))
    }

    fn store(
        &self,
        limits: &Limits,
        host: HostContext,
        script: Option<Arc<Script>>,
        started: Instant,
    ) -> Store<RunState> {
        let mut store = Store::new(&self.engine, RunState::new(limits, host, script, started));
        store.limiter(|state| &mut state.meter);
        // Fuel is on in this engine's configuration, so this cannot fail.
        let _ = store.set_fuel(limits.fuel);
        if self.options.epoch_interruption {
            let deadline = started + limits.timeout();
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |_| {
                if Instant::now() >= deadline {
                    Err(DeadlineReached.into())
                } else {
                    Ok(UpdateDeadline::Yield(1))
                }
            });
        }
        store
    }

    /// Whether JavaScript runs start from the runner's snapshot (else each
    /// sets its engine up: slower, and no snapshot to keep apart).
    pub fn runner_from_snapshot(&self) -> bool {
        self.runner_snapshot
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The JavaScript runner component's bytes (for benchmarks and tools).
    pub fn js_runner_bytes() -> &'static [u8] {
        JS_RUNNER
    }
}

/// The engine.
pub(crate) fn new_engine(options: &RuntimeOptions) -> Result<Engine, RuntimeError> {
    Engine::new(&engine_config(options)).map_err(|error| RuntimeError::Engine(error.to_string()))
}

/// The engine configuration: the one place wasmtime is tuned.
fn engine_config(options: &RuntimeOptions) -> Config {
    let runs = options.max_concurrent_runs.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // Every total is runs × the per-component maximum, so one heavy
    // component cannot use up slots other runs were admitted for.
    pool.total_component_instances(runs)
        .max_core_instances_per_component(16)
        .total_core_instances(runs * 16)
        .max_memories_per_component(2)
        .total_memories(runs * 2)
        .max_tables_per_component(4)
        .total_tables(runs * 4)
        .table_elements(100_000)
        .total_stacks(runs)
        .max_memory_size(usize::try_from(options.max_limits.memory_bytes).unwrap_or(usize::MAX))
        // Keeping a little of each slot's memory mapped makes the next
        // instantiation cheaper than faulting it in again: that much is
        // copied back from the image (or zeroed) after each run, the rest
        // is given back to the kernel.
        .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(ASYNC_STACK_KEEP_RESIDENT)
        // Not the kernel's page scan (which resets only the pages it finds
        // present and written): a page swapped out when a slot is reset
        // would keep the run's data for the next instance in that slot.
        .pagemap_scan(wasmtime::Enabled::No);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(options.epoch_interruption)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20)
        // Host calls run on these stacks: a stack is zeroed before another
        // run gets it, so nothing the host left there is there for it.
        .async_stack_zeroing(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The JavaScript runner, started from its snapshot (crate::snapshot);
/// as built when no snapshot can be taken (then `false`).
fn runner_component(
    engine: &Engine,
    cache: &ArtifactCache,
) -> Result<(wasmtime::component::Component, bool), RuntimeError> {
    // The cache's key: the runner's bytes and the code that snapshots them
    // (wasmtime's version and settings are in every key already, and
    // wasmtime-wizer is pinned to the same version).
    let snapshotted = cache.load_or_make(engine, "snapshot", &[JS_RUNNER, SNAPSHOT_CODE], || {
        crate::snapshot::snapshot(engine, JS_RUNNER)
    });
    match snapshotted {
        Ok(component) => Ok((component, true)),
        Err(error) => {
            tracing::warn!(%error, "no snapshot of the JavaScript runner; each run sets its engine up");
            cache
                .load_or_compile(engine, JS_RUNNER)
                .map(|component| (component, false))
                .map_err(RuntimeError::Runner)
        }
    }
}

/// How snapshots are taken, for the cache key: any change to it takes new
/// snapshots.
const SNAPSHOT_CODE: &[u8] = include_bytes!("snapshot.rs");

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The longest error code and message kept from an agent.
const MAX_ERROR_CODE_BYTES: usize = 64;
const MAX_ERROR_MESSAGE_BYTES: usize = 16 << 10;

fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

fn agent_failure(
    error: crate::host::bindings::agent::agentdeck::agent::types::AgentError,
) -> AgentFailure {
    AgentFailure {
        code: cut(error.code, MAX_ERROR_CODE_BYTES),
        message: cut(error.message, MAX_ERROR_MESSAGE_BYTES),
        line: error.line,
        column: error.column,
    }
}

fn check_output(output: String, limits: &Limits) -> Result<String, RunError> {
    let size = output.len() as u64;
    if size > limits.output_bytes {
        return Err(RunError::OutputTooLarge {
            size,
            limit: limits.output_bytes,
        });
    }
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&output) {
        return Err(RunError::InvalidOutput {
            reason: error.to_string(),
        });
    }
    Ok(output)
}

/// What a trap or host error means for the run.
fn classify(error: &wasmtime::Error, limits: &Limits) -> RunError {
    if error.downcast_ref::<DeadlineReached>().is_some() {
        return RunError::TimedOut {
            limit: limits.timeout(),
        };
    }
    if let Some(exceeded) = error.downcast_ref::<MemoryLimitExceeded>() {
        return RunError::MemoryLimit {
            limit: exceeded.limit,
        };
    }
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return RunError::Busy;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RunError::FuelExhausted { limit: limits.fuel },
        Some(Trap::StackOverflow) => RunError::StackExhausted {
            detail: "the WebAssembly stack overflowed".into(),
        },
        Some(Trap::Interrupt) => RunError::TimedOut {
            limit: limits.timeout(),
        },
        Some(trap) => RunError::Trap {
            message: trap_message(error, *trap),
        },
        // Not a trap but an error raised while the guest was running: a
        // malformed string or list it handed over, a resource table it
        // filled, a WASI call it misused. The guest's doing, not ours.
        None => RunError::Trap {
            message: format!("{error:#}"),
        },
    }
}

/// The trap, with the guest's own words when it left some (a Rust panic
/// message printed before `unreachable`) and the innermost frames.
fn trap_message(error: &wasmtime::Error, trap: Trap) -> String {
    let mut message = trap.to_string();
    if let Some(backtrace) = error.downcast_ref::<wasmtime::WasmBacktrace>() {
        let frames: Vec<String> = backtrace
            .frames()
            .iter()
            .filter_map(|frame| frame.func_name().map(str::to_owned))
            .take(3)
            .collect();
        if !frames.is_empty() {
            message.push_str(&format!(" in {}", frames.join(" ← ")));
        }
    }
    message
}
