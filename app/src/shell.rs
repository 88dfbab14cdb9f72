//! The app shell: top bar, routes and footer.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::auth::Auth;
use crate::components::live_indicator::LiveIndicator;
use crate::components::user_menu::UserMenu;
use crate::components::workspace_switcher::WorkspaceSwitcher;
use crate::live::Live;
use crate::pages::{
    agent::AgentPage,
    creator::CreatorPage,
    dashboard::DashboardPage,
    editor::{AgentEditorPage, EditorPage},
    marketplace::MarketplacePage,
    not_found::NotFoundPage,
    settings::{ApiKeysPage, SettingsPage},
    signin::{SignInPage, SignUpPage},
    teams::{AcceptInvitePage, TeamAuditPage, TeamPage, TeamsPage},
    version::VersionPage,
};

#[component]
pub fn App() -> impl IntoView {
    let live = Live::new();
    provide_context(live);
    live.start();
    let auth = Auth::new();
    provide_context(auth);
    auth.install();
    auth.load();

    view! {
        <Router>
            <header class="topbar">
                <div class="topbar-inner">
                    <A href="/" attr:class="brand">
                        <span class="brand-mark" aria-hidden="true">"◆"</span>
                        <span class="brand-name">"Agentdeck"</span>
                    </A>
                    <nav class="nav" aria-label="Main">
                        <A href="/" exact=true>"Marketplace"</A>
                        <A href="/dashboard">"Dashboard"</A>
                        <A href="/editor">"Editor"</A>
                    </nav>
                    <div class="topbar-end">
                        <LiveIndicator />
                        <WorkspaceSwitcher />
                        <UserMenu />
                    </div>
                </div>
            </header>
            <main class="main">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=MarketplacePage />
                    <Route path=path!("/agents/:slug") view=AgentPage />
                    <Route path=path!("/dashboard") view=DashboardPage />
                    <Route path=path!("/agents/:slug/versions/:version") view=VersionPage />
                    <Route path=path!("/creators/:handle") view=CreatorPage />
                    <Route path=path!("/editor") view=EditorPage />
                    <Route path=path!("/editor/:slug") view=AgentEditorPage />
                    <Route path=path!("/signin") view=SignInPage />
                    <Route path=path!("/signup") view=SignUpPage />
                    <Route path=path!("/settings") view=SettingsPage />
                    <Route path=path!("/settings/keys") view=ApiKeysPage />
                    <Route path=path!("/teams") view=TeamsPage />
                    <Route path=path!("/teams/:slug") view=TeamPage />
                    <Route path=path!("/teams/:slug/audit") view=TeamAuditPage />
                    <Route path=path!("/invites/:token") view=AcceptInvitePage />
                </Routes>
            </main>
            <footer class="footer">
                <span>"Agentdeck — publish, deploy and run AI agents."</span>
                <a href="/api/v1/agents">"REST API"</a>
            </footer>
        </Router>
    }
}
