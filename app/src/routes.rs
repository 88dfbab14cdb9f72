//! Client-side routes the server must answer with the SPA (status 200).
//! Any other non-API path still gets the SPA, which shows its 404 page, but
//! with status 404 so crawlers and tools see the truth.

pub const MARKETPLACE: &str = "/";
pub const DASHBOARD: &str = "/dashboard";
pub const EDITOR: &str = "/editor";
pub const ADMIN_JOBS: &str = "/admin/jobs";
pub const WALLET: &str = "/wallet";
pub const PRICING: &str = "/pricing";
pub const INTEGRATIONS: &str = "/integrations";
/// Pages of the account area.
pub const ACCOUNT: [&str; 10] = [
    "/signin",
    "/signup",
    "/settings",
    "/settings/keys",
    "/settings/webhooks",
    "/device",
    "/oauth/consent",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
];

pub fn agent(slug: &str) -> String {
    format!("/agents/{slug}")
}

/// Whether `path` is one of the SPA's routes.
pub fn is_client_route(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    if path.is_empty()
        || path == DASHBOARD
        || path == EDITOR
        || path == ADMIN_JOBS
        || path == WALLET
        || path == PRICING
        || path == INTEGRATIONS
        || ACCOUNT.contains(&path)
    {
        return true;
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match segments.as_slice() {
        ["agents", slug]
        | ["invites", slug]
        | ["creators", slug]
        | ["editor", slug]
        | ["deployments", slug]
        | ["runs", slug] => !slug.is_empty(),
        ["agents", slug, "versions", version] => !slug.is_empty() && !version.is_empty(),
        ["teams"] => true,
        ["teams", slug] | ["teams", slug, "audit"] => !slug.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_client_route;

    #[test]
    fn knows_its_routes_and_nothing_else() {
        for path in [
            "/",
            "/dashboard",
            "/wallet",
            "/pricing",
            "/integrations",
            "/settings/keys",
            "/settings/webhooks",
            "/device",
            "/agents/seo",
            "/teams",
            "/teams/acme/",
            "/teams/acme/audit",
            "/invites/abc",
            "/creators/agentdeck",
            "/editor/haiku-helper",
            "/agents/seo/versions/1.0.0",
            "/deployments/0b5c6c1e-8f1e-4d7e-9a55-3f1a2b3c4d5e",
            "/runs/0b5c6c1e-8f1e-4d7e-9a55-3f1a2b3c4d5e",
            "/admin/jobs",
            "/forgot-password",
            "/reset-password",
            "/verify-email",
        ] {
            assert!(is_client_route(path), "{path}");
        }
        for path in [
            "/agents",
            "/agents/a/b",
            "/teams/acme/x",
            "/invites",
            "/nope",
            "/teams//audit",
            "/editor/a/b",
            "/agents/seo/versions",
            "/deployments",
            "/runs/a/b",
            "/admin",
            "/integrations/x",
        ] {
            assert!(!is_client_route(path), "{path}");
        }
    }
}
