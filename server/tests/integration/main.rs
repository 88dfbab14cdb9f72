//! Integration tests: the real router over real HTTP and WebSocket
//! connections, each test on a PostgreSQL database of its own.

#![expect(
    clippy::expect_used,
    reason = "a test should fail loudly at its first broken step"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the stand-ins of other services (GitHub, Stripe, an LLM) route with plain axum"
)]

mod abuse;
mod access_matrix;
mod agent_kv;
mod agents_api;
mod api_keys;
mod archive;
mod audit;
mod auth;
mod authoring;
mod billing;
mod cli;
mod connection_use;
mod connections;
mod crash;
mod deployments;
mod device_sign_in;
mod embeds;
mod github;
mod health;
mod hooks;
mod input_schemas;
mod instances;
mod jobs;
mod live;
mod llm;
mod marketplace;
mod mcp;
mod oauth;
mod openapi;
mod outgoing_webhooks;
mod payments;
mod process;
mod rate_limits;
mod recovery;
mod schedules;
mod search_relevance;
mod seed;
mod server_fns;
mod server_fns_deployments;
mod share;
mod spa;
mod support;
mod teams;
mod usage;
