//! The app shell: top bar, routes and footer.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, path};

use crate::auth::Auth;
use crate::components::live_indicator::LiveIndicator;
use crate::components::user_menu::UserMenu;
use crate::components::workspace_switcher::WorkspaceSwitcher;
use crate::live::Live;
use crate::pages::{
    admin::AdminJobsPage,
    agent::AgentPage,
    creator::CreatorPage,
    dashboard::DashboardPage,
    deployment::DeploymentPage,
    editor::{AgentEditorPage, EditorPage},
    integrations::IntegrationsPage,
    marketplace::MarketplacePage,
    not_found::NotFoundPage,
    pricing::PricingPage,
    recovery::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage},
    run::RunPage,
    settings::{ApiKeysPage, SettingsPage},
    signin::{SignInPage, SignUpPage},
    teams::{AcceptInvitePage, TeamAuditPage, TeamPage, TeamsPage},
    version::VersionPage,
    wallet::WalletPage,
    webhooks::WebhooksPage,
};

/// The pages that are split out of the main WASM module (code splitting):
/// each area's code is fetched, as one module and the chunks it shares with
/// other areas, the first time one of its pages is shown. The marketplace
/// (the first page) and the 404 page stay in the main module.
#[derive(Clone, Copy)]
enum Page {
    Agent,
    Pricing,
    Version,
    Creator,
    Editor,
    AgentEditor,
    Dashboard,
    Deployment,
    Run,
    AdminJobs,
    Wallet,
    Integrations,
    SignIn,
    SignUp,
    Settings,
    ApiKeys,
    Webhooks,
    Device,
    Consent,
    Teams,
    Team,
    TeamAudit,
    AcceptInvite,
    ForgotPassword,
    ResetPassword,
    VerifyEmail,
}

/// The agent, version and creator pages (reached from the marketplace).
#[leptos::lazy]
fn browse_area(page: Page) -> AnyView {
    match page {
        Page::Agent => view! { <AgentPage /> }.into_any(),
        Page::Version => view! { <VersionPage /> }.into_any(),
        Page::Creator => view! { <CreatorPage /> }.into_any(),
        Page::Pricing => view! { <PricingPage /> }.into_any(),
        _ => ().into_any(),
    }
}

/// The editor pages (the CodeMirror bundle is loaded apart, by the page).
#[leptos::lazy]
fn editor_area(page: Page) -> AnyView {
    match page {
        Page::Editor => view! { <EditorPage /> }.into_any(),
        Page::AgentEditor => view! { <AgentEditorPage /> }.into_any(),
        _ => ().into_any(),
    }
}

/// The dashboard, deployment, run, queue and wallet pages (what is live
/// and what it costs).
#[leptos::lazy]
fn deploy_area(page: Page) -> AnyView {
    match page {
        Page::Dashboard => view! { <DashboardPage /> }.into_any(),
        Page::Deployment => view! { <DeploymentPage /> }.into_any(),
        Page::Run => view! { <RunPage /> }.into_any(),
        Page::AdminJobs => view! { <AdminJobsPage /> }.into_any(),
        Page::Wallet => view! { <WalletPage /> }.into_any(),
        Page::Integrations => view! { <IntegrationsPage /> }.into_any(),
        _ => ().into_any(),
    }
}

/// Sign-in, account and team pages.
#[leptos::lazy]
fn account_area(page: Page) -> AnyView {
    match page {
        Page::SignIn => view! { <SignInPage /> }.into_any(),
        Page::SignUp => view! { <SignUpPage /> }.into_any(),
        Page::Settings => view! { <SettingsPage /> }.into_any(),
        Page::ApiKeys => view! { <ApiKeysPage /> }.into_any(),
        Page::Webhooks => view! { <WebhooksPage /> }.into_any(),
        Page::Device => view! { <crate::pages::device::DevicePage /> }.into_any(),
        Page::Consent => view! { <crate::pages::consent::ConsentPage /> }.into_any(),
        Page::Teams => view! { <TeamsPage /> }.into_any(),
        Page::Team => view! { <TeamPage /> }.into_any(),
        Page::TeamAudit => view! { <TeamAuditPage /> }.into_any(),
        Page::AcceptInvite => view! { <AcceptInvitePage /> }.into_any(),
        Page::ForgotPassword => view! { <ForgotPasswordPage /> }.into_any(),
        Page::ResetPassword => view! { <ResetPasswordPage /> }.into_any(),
        Page::VerifyEmail => view! { <VerifyEmailPage /> }.into_any(),
        _ => ().into_any(),
    }
}

/// A lazy route showing `$page` from `$area`. `data` starts nothing: the
/// pages load their own data once their code is in.
macro_rules! lazy_page {
    ($route:ident, $area:ident, $preload:ident, $page:expr) => {
        struct $route;
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }
            async fn view(_this: Self) -> AnyView {
                $area($page).await
            }
            async fn preload() {
                #[cfg(target_arch = "wasm32")]
                $preload().await;
            }
        }
    };
}

lazy_page!(AgentRoute, browse_area, __preload_browse_area, Page::Agent);
lazy_page!(
    PricingRoute,
    browse_area,
    __preload_browse_area,
    Page::Pricing
);
lazy_page!(
    VersionRoute,
    browse_area,
    __preload_browse_area,
    Page::Version
);
lazy_page!(
    CreatorRoute,
    browse_area,
    __preload_browse_area,
    Page::Creator
);
lazy_page!(
    EditorRoute,
    editor_area,
    __preload_editor_area,
    Page::Editor
);
lazy_page!(
    AgentEditorRoute,
    editor_area,
    __preload_editor_area,
    Page::AgentEditor
);
lazy_page!(
    DashboardRoute,
    deploy_area,
    __preload_deploy_area,
    Page::Dashboard
);
lazy_page!(
    DeploymentRoute,
    deploy_area,
    __preload_deploy_area,
    Page::Deployment
);
lazy_page!(RunRoute, deploy_area, __preload_deploy_area, Page::Run);
lazy_page!(
    WalletRoute,
    deploy_area,
    __preload_deploy_area,
    Page::Wallet
);
lazy_page!(
    AdminJobsRoute,
    deploy_area,
    __preload_deploy_area,
    Page::AdminJobs
);
lazy_page!(
    IntegrationsRoute,
    deploy_area,
    __preload_deploy_area,
    Page::Integrations
);
lazy_page!(
    SignInRoute,
    account_area,
    __preload_account_area,
    Page::SignIn
);
lazy_page!(
    SignUpRoute,
    account_area,
    __preload_account_area,
    Page::SignUp
);
lazy_page!(
    SettingsRoute,
    account_area,
    __preload_account_area,
    Page::Settings
);
lazy_page!(
    ApiKeysRoute,
    account_area,
    __preload_account_area,
    Page::ApiKeys
);
lazy_page!(
    WebhooksRoute,
    account_area,
    __preload_account_area,
    Page::Webhooks
);
lazy_page!(
    DeviceRoute,
    account_area,
    __preload_account_area,
    Page::Device
);
lazy_page!(
    ConsentRoute,
    account_area,
    __preload_account_area,
    Page::Consent
);
lazy_page!(
    TeamsRoute,
    account_area,
    __preload_account_area,
    Page::Teams
);
lazy_page!(TeamRoute, account_area, __preload_account_area, Page::Team);
lazy_page!(
    TeamAuditRoute,
    account_area,
    __preload_account_area,
    Page::TeamAudit
);
lazy_page!(
    AcceptInviteRoute,
    account_area,
    __preload_account_area,
    Page::AcceptInvite
);
lazy_page!(
    ForgotPasswordRoute,
    account_area,
    __preload_account_area,
    Page::ForgotPassword
);
lazy_page!(
    ResetPasswordRoute,
    account_area,
    __preload_account_area,
    Page::ResetPassword
);
lazy_page!(
    VerifyEmailRoute,
    account_area,
    __preload_account_area,
    Page::VerifyEmail
);

/// Until the signed-in user's address is verified: where the link went,
/// what waits for it, and where to send another.
#[component]
fn VerifyBanner() -> impl IntoView {
    let auth = crate::auth::use_auth();
    move || {
        auth.me
            .get()
            .filter(|me| !me.user.email_verified)
            .map(|me| {
                view! {
                    <div class="banner" role="status" data-testid="verify-banner">
                        "Verify your email address: follow the link we sent to "
                        <strong>{me.user.email.unwrap_or_default()}</strong>
                        ". Until then you cannot create API keys, publish agents, join teams or buy credits. "
                        <A href="/settings">"Send a new link"</A>
                    </div>
                }
            })
    }
}

#[component]
pub fn App() -> impl IntoView {
    let live = Live::new();
    provide_context(live);
    live.start();
    let auth = Auth::new();
    provide_context(auth);
    auth.install();
    auth.load();
    // The socket is authenticated when it opens: a new one after signing
    // in or out, so the user's own topics can be followed.
    Effect::new(move |previous: Option<(bool, Option<types::UserId>)>| {
        let now = (
            auth.ready.get(),
            auth.me.with(|me| me.as_ref().map(|me| me.user.id)),
        );
        if let Some((true, user)) = previous
            && now.0
            && user != now.1
        {
            live.reconnect();
        }
        now
    });

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
                        <A href="/pricing">"Pricing"</A>
                    </nav>
                    <div class="topbar-end">
                        <LiveIndicator />
                        <WorkspaceSwitcher />
                        <UserMenu />
                    </div>
                </div>
            </header>
            <main class="main">
                <VerifyBanner />
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=MarketplacePage />
                    <Route path=path!("/agents/:slug") view={Lazy::<AgentRoute>::new()} />
                    <Route path=path!("/dashboard") view={Lazy::<DashboardRoute>::new()} />
                    <Route path=path!("/deployments/:id") view={Lazy::<DeploymentRoute>::new()} />
                    <Route path=path!("/runs/:id") view={Lazy::<RunRoute>::new()} />
                    <Route path=path!("/admin/jobs") view={Lazy::<AdminJobsRoute>::new()} />
                    <Route path=path!("/wallet") view={Lazy::<WalletRoute>::new()} />
                    <Route path=path!("/integrations") view={Lazy::<IntegrationsRoute>::new()} />
                    <Route path=path!("/pricing") view={Lazy::<PricingRoute>::new()} />
                    <Route path=path!("/agents/:slug/versions/:version") view={Lazy::<VersionRoute>::new()} />
                    <Route path=path!("/creators/:handle") view={Lazy::<CreatorRoute>::new()} />
                    <Route path=path!("/editor") view={Lazy::<EditorRoute>::new()} />
                    <Route path=path!("/editor/:slug") view={Lazy::<AgentEditorRoute>::new()} />
                    <Route path=path!("/signin") view={Lazy::<SignInRoute>::new()} />
                    <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()} />
                    <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} />
                    <Route path=path!("/settings/keys") view={Lazy::<ApiKeysRoute>::new()} />
                    <Route path=path!("/settings/webhooks") view={Lazy::<WebhooksRoute>::new()} />
                    <Route path=path!("/device") view={Lazy::<DeviceRoute>::new()} />
                    <Route path=path!("/oauth/consent") view={Lazy::<ConsentRoute>::new()} />
                    <Route path=path!("/teams") view={Lazy::<TeamsRoute>::new()} />
                    <Route path=path!("/teams/:slug") view={Lazy::<TeamRoute>::new()} />
                    <Route path=path!("/teams/:slug/audit") view={Lazy::<TeamAuditRoute>::new()} />
                    <Route path=path!("/invites/:token") view={Lazy::<AcceptInviteRoute>::new()} />
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} />
                    <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} />
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} />
                </Routes>
            </main>
            <footer class="footer">
                <span>"Agentdeck — publish, deploy and run AI agents."</span>
                <a href="/api/v1/agents">"REST API"</a>
            </footer>
        </Router>
    }
}
