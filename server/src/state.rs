//! Shared state of the HTTP layer.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use service::Services;

use crate::auth::CookieSettings;
use crate::live::hub::Hub;
use crate::rate_limit::Limits;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub hub: Hub,
    pub dist_dir: Arc<PathBuf>,
    pub cookies: CookieSettings,
    pub limits: Limits,
    /// `AGENTDECK_TRUSTED_PROXIES`, for `client_addr`.
    pub proxies: crate::client_addr::TrustedProxies,
    /// The MCP sessions open here.
    pub mcp: crate::mcp::sessions::Sessions,
}

impl FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Self {
        state.services.clone()
    }
}

impl FromRef<AppState> for Hub {
    fn from_ref(state: &AppState) -> Self {
        state.hub.clone()
    }
}
