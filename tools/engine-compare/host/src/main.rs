//! Measures agent components: size, compile time, .cwasm size, and
//! instantiate+run latency (p50/p99) and fuel over N runs, each in a fresh
//! Store with a default WasiCtx, through the pooling allocator and InstancePre.
//!
//! usage: engine-compare-host [--runs N] [--input JSON] [--show] NAME=PATH.wasm ...

use wasmtime::Result;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    world: "agent",
    path: "../../agents/wit",
    imports: { default: async },
    exports: { default: async },
});

use agentdeck::agent::types::CapabilityError;
use agentdeck::agent::{config, http, kv, llm, log, types};

const FUEL: u64 = 1 << 50;

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    peak: usize,
    logs: usize,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl ResourceLimiter for State {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> Result<bool> {
        self.peak = self.peak.max(desired);
        Ok(desired <= 256 << 20)
    }
    fn table_growing(&mut self, _c: usize, _d: usize, _m: Option<usize>) -> Result<bool> {
        Ok(true)
    }
}

fn denied() -> CapabilityError {
    CapabilityError::Denied("stub host".into())
}

impl types::Host for State {}
impl log::Host for State {
    async fn log(&mut self, _level: log::Level, _message: String) {
        self.logs += 1;
    }
}
impl llm::Host for State {
    async fn complete(&mut self, _r: llm::Request) -> Result<llm::Completion, CapabilityError> {
        Err(denied())
    }
}
impl http::Host for State {
    async fn fetch(&mut self, _r: http::Request) -> Result<http::Response, CapabilityError> {
        Err(denied())
    }
}
impl kv::Host for State {
    async fn get(&mut self, _k: String) -> Result<Option<String>, CapabilityError> {
        Ok(None)
    }
    async fn set(&mut self, _k: String, _v: String) -> Result<(), CapabilityError> {
        Ok(())
    }
    async fn delete(&mut self, _k: String) -> Result<bool, CapabilityError> {
        Ok(false)
    }
    async fn keys(&mut self, _p: String, _l: u32) -> Result<Vec<String>, CapabilityError> {
        Ok(vec![])
    }
}
impl config::Host for State {
    async fn get(&mut self, _k: String) -> Result<Option<String>, CapabilityError> {
        Ok(None)
    }
    async fn secret(&mut self, _k: String) -> Result<Option<String>, CapabilityError> {
        Ok(None)
    }
}

fn engine() -> Result<Engine> {
    let runs = 4;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(runs)
        .total_core_instances(runs * 8)
        .max_core_instances_per_component(16)
        .total_memories(runs * 2)
        .max_memories_per_component(4)
        .total_tables(runs * 4)
        .max_tables_per_component(8)
        .table_elements(100_000)
        .total_stacks(runs)
        .max_memory_size(256 << 20)
        .linear_memory_keep_resident(64 << 10)
        .table_keep_resident(64 << 10);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut runs = 2000usize;
    let mut input = "{}".to_string();
    let mut show = false;
    let mut targets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or_else(|| wasmtime::format_err!("--runs N"))?.parse().map_err(|_| wasmtime::format_err!("bad --runs"))?,
            "--input" => input = args.next().ok_or_else(|| wasmtime::format_err!("--input JSON"))?,
            "--show" => show = true,
            _ => targets.push(a),
        }
    }
    let engine = engine()?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Agent::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;

    println!("name\twasm_bytes\tcompile_ms\tcwasm_bytes\tfirst_run_ms\tp50_ms\tp99_ms\tmean_ms\tfuel\tpeak_mem_kib\toutput");
    for target in targets {
        let (name, path) = target.split_once('=').ok_or_else(|| wasmtime::format_err!("NAME=PATH"))?;
        let bytes = std::fs::read(path).map_err(|e| wasmtime::format_err!("{path}: {e}"))?;
        let t = Instant::now();
        let component = Component::new(&engine, &bytes)?;
        let compile = t.elapsed();
        let cwasm = component.serialize()?;
        let pre = AgentPre::new(linker.instantiate_pre(&component)?)?;

        let mut times = Vec::with_capacity(runs);
        let mut fuel = 0u64;
        let mut peak = 0usize;
        let mut output = String::new();
        for _ in 0..runs {
            let state = State { wasi: WasiCtxBuilder::new().build(), table: ResourceTable::new(), peak: 0, logs: 0 };
            let mut store = Store::new(&engine, state);
            store.limiter(|s| s);
            store.set_fuel(FUEL)?;
            let t = Instant::now();
            let instance = pre.instantiate_async(&mut store).await?;
            let result = instance.call_run(&mut store, &input).await?;
            times.push(t.elapsed());
            fuel = FUEL - store.get_fuel()?;
            peak = store.data().peak;
            output = match result {
                Ok(o) => o,
                Err(e) => format!("AGENT-ERROR {}: {}", e.code, e.message),
            };
        }
        let first = times[0];
        let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e3 / runs as f64;
        times.sort();
        let shown = if show || output.len() <= 80 { output.clone() } else { format!("{}…", &output[..80]) };
        println!(
            "{name}\t{}\t{:.0}\t{}\t{:.2}\t{:.3}\t{:.3}\t{:.3}\t{fuel}\t{}\t{shown}",
            bytes.len(),
            compile.as_secs_f64() * 1e3,
            cwasm.len(),
            first.as_secs_f64() * 1e3,
            pct(&times, 0.5),
            pct(&times, 0.99),
            mean,
            peak / 1024,
        );
    }
    Ok(())
}
