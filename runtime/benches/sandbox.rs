//! Sandbox benchmarks, in process. `cargo bench -p runtime --bench sandbox`
//! runs them all; docs/BENCHMARKS.md records the results.
//!
//! - rust_trivial: instantiate and run the example Rust agent (echo) through
//!   the runtime, against the bare wasmtime instantiate-and-call of the same
//!   component (the physical reference), and the runs per second two
//!   threads get.
//! - javascript: a trivial script run, and preparing a new script version.
//! - artifacts: loading a cached compiled component, and starting a whole
//!   runtime from a warm cache.
//! - epochs: a CPU-bound agent with and without epoch interruption.
//!
//! After Criterion, a latency pass times 20,000 single runs of each trivial
//! agent and prints p50/p90/p99, and the runner's compile time is measured
//! once (it takes seconds, too long for Criterion's samples).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use criterion::{Criterion, Throughput};
use runtime::{Capabilities, HostContext, Limits, PreparedAgent, Runtime, RuntimeOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The same component, run with nothing of ours around it: the pooling
/// allocator, `InstancePre`, a default WASI context, no fuel, no deadline,
/// no memory meter, no log capture.
mod bare {
    use wasmtime::component::{HasSelf, Linker, ResourceTable};
    use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    wasmtime::component::bindgen!({
        world: "agent",
        path: "../agents/wit",
        imports: { default: async },
        exports: { default: async },
    });

    use agentdeck::agent::types::CapabilityError;

    pub struct State {
        wasi: WasiCtx,
        table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    fn unused<T>() -> Result<T, CapabilityError> {
        Err(CapabilityError::Denied("not in the reference".into()))
    }

    impl agentdeck::agent::types::Host for State {}
    impl agentdeck::agent::trigger::Host for State {
        async fn get(&mut self) -> agentdeck::agent::trigger::Info {
            agentdeck::agent::trigger::Info {
                kind: "test".into(),
                at: String::new(),
                details: "{}".into(),
            }
        }
    }
    impl agentdeck::agent::conversation::Host for State {
        async fn history(&mut self) -> Vec<agentdeck::agent::conversation::Message> {
            Vec::new()
        }
    }
    impl agentdeck::agent::log::Host for State {
        async fn log(&mut self, _: agentdeck::agent::log::Level, _: String) {}
    }
    impl agentdeck::agent::llm::Host for State {
        async fn complete(
            &mut self,
            _: agentdeck::agent::llm::Request,
        ) -> Result<agentdeck::agent::llm::Completion, CapabilityError> {
            unused()
        }
    }
    impl agentdeck::agent::http::Host for State {
        async fn fetch(
            &mut self,
            _: agentdeck::agent::http::Request,
        ) -> Result<agentdeck::agent::http::Response, CapabilityError> {
            unused()
        }
    }
    impl agentdeck::agent::kv::Host for State {
        async fn get(&mut self, _: String) -> Result<Option<String>, CapabilityError> {
            unused()
        }
        async fn set(&mut self, _: String, _: String) -> Result<(), CapabilityError> {
            unused()
        }
        async fn delete(&mut self, _: String) -> Result<bool, CapabilityError> {
            unused()
        }
        async fn keys(&mut self, _: String, _: u32) -> Result<Vec<String>, CapabilityError> {
            unused()
        }
    }
    impl agentdeck::agent::connections::Host for State {
        async fn providers(&mut self) -> Vec<String> {
            Vec::new()
        }
        async fn fetch(
            &mut self,
            _: String,
            _: agentdeck::agent::connections::Request,
        ) -> Result<agentdeck::agent::http::Response, CapabilityError> {
            unused()
        }
    }
    impl agentdeck::agent::config::Host for State {
        async fn get(&mut self, _: String) -> Result<Option<String>, CapabilityError> {
            unused()
        }
        async fn secret(&mut self, _: String) -> Result<Option<String>, CapabilityError> {
            unused()
        }
    }

    pub struct Reference {
        engine: Engine,
        pre: AgentPre<State>,
    }

    impl Reference {
        pub fn new(bytes: &[u8]) -> Self {
            // The same pool as the runtime's, so the ratio shows what the
            // runtime adds per run, not a different pool tuning.
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(64)
                .total_core_instances(512)
                .total_memories(128)
                .total_tables(256)
                .table_elements(100_000)
                .total_stacks(64)
                .linear_memory_keep_resident(64 << 10)
                .table_keep_resident(64 << 10);
            let mut config = Config::new();
            config
                .wasm_component_model(true)
                .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            let engine = Engine::new(&config).unwrap();
            let mut linker = Linker::new(&engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
            Agent::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).unwrap();
            let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
            let pre = AgentPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
            Self { engine, pre }
        }

        pub async fn run(&self, input: &str) -> String {
            let state = State {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            };
            let mut store = Store::new(&self.engine, state);
            let agent = self.pre.instantiate_async(&mut store).await.unwrap();
            agent.call_run(&mut store, input).await.unwrap().unwrap()
        }
    }
}

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("AGENTDECK_TEST_CACHE_DIR"))
}

fn rust_echo() -> Vec<u8> {
    std::fs::read(env!("AGENTDECK_RUST_ECHO_WASM")).unwrap()
}

fn probe() -> Vec<u8> {
    std::fs::read(env!("AGENTDECK_PROBE_WASM")).unwrap()
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn new_runtime(epochs: bool) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(cache_dir()),
        epoch_interruption: epochs,
        ..RuntimeOptions::default()
    })
    .unwrap()
}

const TRIVIAL_JS: &str = "export default function run(input) { return input; }";

struct Fixture {
    runtime: Runtime,
    rust: PreparedAgent,
    javascript: PreparedAgent,
    host: HostContext,
    reference: bare::Reference,
}

fn fixture(tokio: &tokio::runtime::Runtime) -> Fixture {
    let runtime = new_runtime(true);
    let rust = tokio
        .block_on(runtime.prepare_component(&rust_echo()))
        .unwrap();
    let javascript = tokio
        .block_on(runtime.prepare_javascript("trivial.js", TRIVIAL_JS, &Limits::default()))
        .unwrap();
    Fixture {
        runtime,
        rust,
        javascript,
        host: HostContext::new(Capabilities::default()),
        reference: bare::Reference::new(&rust_echo()),
    }
}

fn rust_trivial(criterion: &mut Criterion, tokio: &tokio::runtime::Runtime, fixture: &Fixture) {
    let limits = Limits::default();
    let mut group = criterion.benchmark_group("rust_trivial");
    group.bench_function("runtime", |bencher| {
        bencher.to_async(tokio).iter(|| async {
            let outcome = fixture
                .runtime
                .run(&fixture.rust, "{}", &limits, fixture.host.clone())
                .await;
            assert!(outcome.is_success());
        })
    });
    group.bench_function("bare_wasmtime", |bencher| {
        bencher
            .to_async(tokio)
            .iter(|| async { fixture.reference.run("{}").await })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("runtime_two_threads", |bencher| {
        bencher.iter_custom(|iterations| {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        let tokio = tokio_runtime();
                        tokio.block_on(async {
                            for _ in 0..iterations.div_ceil(2) {
                                let outcome = fixture
                                    .runtime
                                    .run(&fixture.rust, "{}", &limits, fixture.host.clone())
                                    .await;
                                assert!(outcome.is_success());
                            }
                        });
                    });
                }
            });
            started.elapsed()
        })
    });
    group.finish();
}

fn javascript(criterion: &mut Criterion, tokio: &tokio::runtime::Runtime, fixture: &Fixture) {
    let limits = Limits::default();
    let mut group = criterion.benchmark_group("javascript");
    group.bench_function("trivial_run", |bencher| {
        bencher.to_async(tokio).iter(|| async {
            let outcome = fixture
                .runtime
                .run(&fixture.javascript, "{}", &limits, fixture.host.clone())
                .await;
            assert!(outcome.is_success());
        })
    });
    let mut version = 0_u64;
    let limits = &limits;
    group.bench_function("prepare_new_version", |bencher| {
        bencher.to_async(tokio).iter(|| {
            version += 1;
            let source = format!("// version {version}\nexport default function run(input, ctx) {{\n  ctx.log.info('v{version}');\n  return {{ version: {version}, input }};\n}}\n");
            async move { fixture.runtime.prepare_javascript("agent.js", &source, limits).await.unwrap() }
        })
    });
    group.finish();
}

fn artifacts(criterion: &mut Criterion) {
    let runtime = new_runtime(true);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("runner.cwasm");
    let component =
        wasmtime::component::Component::new(runtime.engine(), Runtime::js_runner_bytes()).unwrap();
    std::fs::write(&path, component.serialize().unwrap()).unwrap();
    let mut group = criterion.benchmark_group("artifacts");
    group.bench_function("load_cached_js_runner", |bencher| {
        bencher.iter(|| load(runtime.engine(), &path))
    });
    group.sample_size(20);
    group.bench_function("runtime_start_warm_cache", |bencher| {
        bencher.iter(|| new_runtime(true))
    });
    group.finish();
}

#[allow(unsafe_code)]
fn load(engine: &wasmtime::Engine, path: &std::path::Path) -> wasmtime::component::Component {
    // SAFETY: the file was serialised just above by this engine.
    unsafe { wasmtime::component::Component::deserialize_file(engine, path) }.unwrap()
}

fn epochs(criterion: &mut Criterion, tokio: &tokio::runtime::Runtime) {
    let mut group = criterion.benchmark_group("epochs");
    group.sample_size(20);
    let input = "\"cpu:20000000\"";
    for (name, on) in [
        ("cpu_bound_with_epochs", true),
        ("cpu_bound_without_epochs", false),
    ] {
        let runtime = new_runtime(on);
        let agent = tokio.block_on(runtime.prepare_component(&probe())).unwrap();
        let host = HostContext::new(Capabilities::default());
        group.bench_function(name, |bencher| {
            bencher.to_async(tokio).iter(|| async {
                let outcome = runtime
                    .run(&agent, input, &Limits::default(), host.clone())
                    .await;
                assert!(outcome.is_success());
            })
        });
    }
    group.finish();
}

fn percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize];
    println!(
        "latency {label}: n={} p50={:.1} µs p90={:.1} µs p99={:.1} µs",
        samples.len(),
        at(0.50).as_secs_f64() * 1e6,
        at(0.90).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
}

/// Single-run latencies, each run timed on its own.
fn latency_pass(tokio: &tokio::runtime::Runtime, fixture: &Fixture) {
    let limits = Limits::default();
    let runs = 20_000;
    for (label, agent) in [
        ("rust_trivial/runtime", &fixture.rust),
        ("javascript/trivial_run", &fixture.javascript),
    ] {
        let samples = tokio.block_on(async {
            let mut samples = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                let outcome = fixture
                    .runtime
                    .run(agent, "{}", &limits, fixture.host.clone())
                    .await;
                samples.push(started.elapsed());
                assert!(outcome.is_success());
            }
            samples
        });
        percentiles(label, samples);
    }
    let samples = tokio.block_on(async {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            fixture.reference.run("{}").await;
            samples.push(started.elapsed());
        }
        samples
    });
    percentiles("rust_trivial/bare_wasmtime", samples);
}

fn main() {
    let tokio = tokio_runtime();
    let fixture = fixture(&tokio);
    let mut criterion = Criterion::default().configure_from_args();
    rust_trivial(&mut criterion, &tokio, &fixture);
    javascript(&mut criterion, &tokio, &fixture);
    artifacts(&mut criterion);
    epochs(&mut criterion, &tokio);
    criterion.final_summary();

    latency_pass(&tokio, &fixture);
    let started = Instant::now();
    let runtime = new_runtime(true);
    wasmtime::component::Component::new(runtime.engine(), Runtime::js_runner_bytes()).unwrap();
    println!(
        "once: compiling the JavaScript runner ({} bytes) took {:.2} s",
        Runtime::js_runner_bytes().len(),
        started.elapsed().as_secs_f64()
    );
}
