//! Agentdeck's single-page app: pages, components and the `#[server]`
//! functions (`api`) that are its data calls.
//!
//! The DTOs both sides speak are the `types` crate. The `csr` feature builds
//! the app for the browser, where server functions are typed fetches; `ssr`
//! builds their bodies for the server, each one call into `service`, the layer
//! the REST API calls too, so no logic exists twice. Only `ssr` may see
//! `service` (Cargo enforces it: the WASM build has no such dependency).
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod code_editor;
pub mod routes;

mod components;
mod live;
mod pages;
mod remote;
mod shell;

pub use shell::App;

/// How cards word prices, ratings and run counts: the server's share cards
/// and page heads say it the same way.
pub mod labels {
    pub use crate::components::agent_card::{price_label, rating_label, runs_label};
}
