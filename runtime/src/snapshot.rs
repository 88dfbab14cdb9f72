//! The JavaScript runner starts from a snapshot: once per runner build (and
//! then from the artifact cache), a fresh instance calls its `initialize`
//! export, which sets up the Boa engine, its globals and the `ctx` object,
//! and Wizer writes that instance's memory out as a new component. Every
//! run then begins with the engine ready instead of building it (most of a
//! trivial run's time and fuel).
//!
//! `initialize` may not reach the host: every import traps while it runs,
//! so nothing of a run, no clock and no randomness, can end up in the
//! snapshot that all runs share. When snapshotting fails the runner is used
//! as built, and each run sets its engine up itself.

use wasmtime::component::{Component, Instance, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The runner's export that sets its engine up.
const INITIALIZE: &str = "initialize";

/// `bytes` (a runner built for the `js-runner-build` world) with
/// `initialize` run. The export stays (Wizer 48 cannot take it out of a
/// component); the host never calls it again.
pub(crate) fn snapshot(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>, String> {
    futures::executor::block_on(initialized(engine, bytes)).map_err(|error| format!("{error:#}"))
}

async fn initialized(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.init_func(INITIALIZE).keep_init_func(true);
    let (context, instrumented) = wizer.instrument_component(bytes)?;
    let component = Component::new(engine, &instrumented)?;
    let mut linker = Linker::<()>::new(engine);
    linker.define_unknown_imports_as_traps(&component)?;
    let mut store = Store::new(engine, ());
    // The engine meters fuel and checks epochs for every store; setting up
    // is bounded by what it does, not by these.
    store.set_fuel(u64::MAX)?;
    // (A deadline is added to the engine's current epoch: half the range
    // cannot overflow it.)
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker.instantiate_async(&mut store, &component).await?;
    let initialize = instance
        .get_typed_func::<(), ()>(&mut store, INITIALIZE)
        .map_err(|error| error.context("the runner exports no `initialize()`"))?;
    initialize.call_async(&mut store, ()).await?;
    let mut state = Access {
        store: &mut store,
        instance,
        failed: None,
    };
    let snapshot = wizer.snapshot_component(&context, &mut state).await?;
    match state.failed {
        Some(error) => Err(error.context("reading the initialised instance")),
        None => Ok(snapshot),
    }
}

/// Reads the initialised instance's state through the accessors Wizer's
/// instrumentation exports. The trait's calls cannot fail: the first
/// failure is kept (and the snapshot dropped), later calls answer zeros.
struct Access<'a> {
    store: &'a mut Store<()>,
    instance: Instance,
    failed: Option<wasmtime::Error>,
}

impl Access<'_> {
    async fn call<R>(&mut self, instance: &str, func: &str) -> Option<R>
    where
        R: wasmtime::component::Lift + Send + Sync + 'static,
    {
        if self.failed.is_some() {
            return None;
        }
        match self.try_call(instance, func).await {
            Ok(value) => Some(value),
            Err(error) => {
                self.failed = Some(error.context(format!("{instance}#{func}")));
                None
            }
        }
    }

    async fn try_call<R>(&mut self, instance: &str, func: &str) -> wasmtime::Result<R>
    where
        R: wasmtime::component::Lift + Send + Sync + 'static,
    {
        let missing = || wasmtime::format_err!("not exported");
        let (_, exported) = self
            .instance
            .get_export(&mut *self.store, None, instance)
            .ok_or_else(missing)?;
        let (_, index) = self
            .instance
            .get_export(&mut *self.store, Some(&exported), func)
            .ok_or_else(missing)?;
        let accessor = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, index)?;
        let (value,) = accessor.call_async(&mut *self.store, ()).await?;
        Ok(value)
    }
}

impl ComponentInstanceState for Access<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let list: Option<WasmList<u8>> = self.call(instance, func).await;
        match list {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuntimeOptions;
    use crate::engine::new_engine;

    #[test]
    fn the_runner_snapshots_without_reaching_the_host() {
        let engine = new_engine(&RuntimeOptions::default()).unwrap();
        let snapshot = snapshot(&engine, crate::Runtime::js_runner_bytes());
        let snapshot = snapshot.unwrap_or_else(|error| panic!("no snapshot: {error}"));
        assert!(Component::new(&engine, &snapshot).is_ok());
    }
}
