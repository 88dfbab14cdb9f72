//! Agentdeck's single-page app and the contract it shares with the server.
//!
//! `model` and `error` are the DTOs both sides speak, `api` holds the `#[server]`
//! functions, `pages`/`components` the UI. The `csr` feature builds it for the
//! browser; `ssr` adds `service`, the layer that server functions and the REST API
//! both call, so no logic exists twice.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod client;
pub mod code_editor;
pub mod error;
pub mod model;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod service;

mod components;
mod live;
mod pages;
mod remote;
mod shell;

pub use shell::App;
