//! `/api/v1/deployments`: create, list, show, stop, start, restart,
//! redeploy and delete.

pub mod act;
pub mod create;
pub mod list;
pub mod show;
