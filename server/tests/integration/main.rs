//! Integration tests: the real router over real HTTP and WebSocket
//! connections, each test on a PostgreSQL database of its own.

mod agents_api;
mod health;
mod live;
mod process;
mod seed;
mod server_fns;
mod spa;
mod support;
