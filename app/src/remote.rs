//! Data a view loads from the server: a signal holding nothing yet, the
//! data or the error, fetched again when a signal the request reads changes
//! or on `reload`. An answer to an outdated request is dropped. Lighter in
//! the WASM bundle than resources under `<Suspense>`, which the pages do
//! not need.

use std::future::Future;

use leptos::prelude::*;

use crate::components::status::ErrorPanel;
use types::error::ApiError;

pub struct Remote<T: 'static> {
    state: RwSignal<Option<Result<T, ApiError>>>,
    version: RwSignal<u64>,
}

impl<T> Clone for Remote<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Remote<T> {}

impl<T: Clone + Send + Sync + 'static> Remote<T> {
    /// Starts `request` now, and again whenever what it reads changes.
    pub fn new<Fut>(request: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = Result<T, ApiError>> + 'static,
    {
        let state = RwSignal::new(None);
        let version = RwSignal::new(0_u64);
        let latest = StoredValue::new(0_u64);
        Effect::new(move |_| {
            version.track();
            let pending = request();
            latest.update_value(|n| *n += 1);
            let ticket = latest.get_value();
            leptos::task::spawn_local(async move {
                let result = pending.await;
                // The view may be gone by now (the user navigated away, or a
                // parent re-rendered): then nobody is waiting for the answer.
                if latest.try_get_value() == Some(ticket) {
                    state.set(Some(result));
                }
            });
        });
        Self { state, version }
    }

    /// Fetches again; what is shown stays until the new answer arrives.
    pub fn reload(self) {
        self.version.update(|v| *v += 1);
    }

    /// The latest answer (tracked); `None` until the first one arrives.
    pub fn get(self) -> Option<Result<T, ApiError>> {
        self.state.get()
    }

    /// The usual rendering: `loading` text, then `ready(data)`, or the error
    /// with a retry button.
    pub fn view<V: IntoView + 'static>(
        self,
        loading: &'static str,
        ready: impl Fn(T) -> V + Send + Sync + 'static,
    ) -> impl IntoView {
        move || match self.get() {
            None => view! { <p class="muted" aria-busy="true">{loading}</p> }.into_any(),
            Some(Ok(data)) => ready(data).into_any(),
            Some(Err(error)) => {
                view! { <ErrorPanel error retry=Callback::new(move |()| self.reload()) /> }
                    .into_any()
            }
        }
    }
}
