//! REST API v1 handlers, one file per action. They translate HTTP to the
//! service layer and back; no business logic lives here.

pub mod admin;
pub mod agents;
pub mod auth;
pub mod authoring;
pub mod billing;
pub mod body;
pub mod connections;
pub mod deployments;
pub mod embeds;
pub mod extract;
pub mod github;
pub mod health;
pub mod hooks;
pub mod not_found;
pub mod nul;
pub mod oauth;
pub mod runs;
pub mod schedules;
pub mod server_fns;
pub mod teams;
pub mod webhook_endpoints;
pub mod webhooks;
