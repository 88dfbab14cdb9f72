//! One module per route.

pub mod agent;
pub mod dashboard;
pub mod editor;
pub mod marketplace;
pub mod not_found;
