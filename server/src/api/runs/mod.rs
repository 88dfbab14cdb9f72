//! Runs: `POST|GET /api/v1/deployments/{id}/runs`, `GET /api/v1/runs/{id}`
//! and `POST /api/v1/runs/{id}/cancel`.

pub mod cancel;
pub mod list;
pub mod metrics;
pub mod recent;
pub mod show;
pub mod start;
