//! Reusable pieces of UI.

pub mod agent_card;
pub mod browser;
pub mod connections;
pub mod deploy;
pub mod form;
pub mod live_indicator;
pub mod new_agent;
pub mod run_result;
pub mod schema_form;
pub mod scopes;
pub mod status;
pub mod table;
pub mod user_menu;
pub mod workspace_switcher;
