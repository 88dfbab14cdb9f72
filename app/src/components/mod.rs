//! Reusable pieces of UI.

pub mod agent_card;
pub mod live_indicator;
pub mod status;
pub mod user_menu;
