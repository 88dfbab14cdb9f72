//! Runs the probe component: `qjs-host <component.wasm> <script>...`.
use std::time::Instant;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    inline: r#"
        package probe:qjs;
        world runner {
            export eval: func(src: string) -> result<string, string>;
        }
    "#,
});

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn main() -> wasmtime::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let started = Instant::now();
    let component = Component::from_file(&engine, &args[1])?;
    eprintln!("compiled in {:?}", started.elapsed());
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut failures = 0;
    for script in &args[2..] {
        let state = State {
            wasi: WasiCtxBuilder::new().inherit_stdout().inherit_stderr().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&engine, state);
        store.set_fuel(10_000_000_000)?;
        let started = Instant::now();
        let runner = Runner::instantiate(&mut store, &component, &linker)?;
        match runner.call_eval(&mut store, script) {
            Ok(result) => {
                let fuel = 10_000_000_000 - store.get_fuel()?;
                println!("{script:?}\n  => {result:?}  ({:?}, fuel {fuel})", started.elapsed());
            }
            Err(trap) => {
                failures += 1;
                println!("{script:?}\n  => TRAP {trap:?}");
            }
        }
    }
    std::process::exit(failures);
}
