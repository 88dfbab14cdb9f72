//! The dashboard. Until deployments exist it shows the live link to the
//! server: connection state, server time and connected clients.

use leptos::prelude::*;

use crate::live::{LinkState, Live};
use crate::model::live::SystemEvent;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let connection = move || match live.state.get() {
        LinkState::Connected => "Connected",
        LinkState::Connecting => "Connecting",
        LinkState::Reconnecting { .. } => "Reconnecting",
    };
    let server_time = move || match live.heartbeat.get() {
        Some(SystemEvent::Heartbeat { server_time, .. }) => super::time::second(server_time),
        None => "—".to_owned(),
    };
    let clients = move || match live.heartbeat.get() {
        Some(SystemEvent::Heartbeat { clients, .. }) => clients.to_string(),
        None => "—".to_owned(),
    };
    view! {
        <div class="page">
            <h1>"Dashboard"</h1>
            <p class="lede">"Your deployments and their runs will stream in here as they happen."</p>
            <div class="stats">
                <div class="stat">
                    <span class="stat-label">"Live link"</span>
                    <span class="stat-value" data-testid="dash-connection">{connection}</span>
                </div>
                <div class="stat">
                    <span class="stat-label">"Server time"</span>
                    <span class="stat-value" data-testid="dash-server-time">{server_time}</span>
                </div>
                <div class="stat">
                    <span class="stat-label">"Connected clients"</span>
                    <span class="stat-value" data-testid="dash-clients">{clients}</span>
                </div>
            </div>
            <div class="panel panel-empty">
                <h2>"No deployments yet"</h2>
                <p>"Pick an agent in the marketplace; deploying it will land with the deployments release."</p>
            </div>
        </div>
    }
}
