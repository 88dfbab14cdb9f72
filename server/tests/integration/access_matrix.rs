//! The access matrix: every route the server has, called by every kind of
//! caller, each answer checked against the table below. A refused mutation
//! must also leave every account, session, key, team, membership and invite
//! exactly as it was, so nobody reads or changes what is not theirs.
//!
//! Cells are independent: each gets fresh sessions, and the team routes a
//! fresh team (owner, admin, member, viewer and a plain member as target).
//! Keys and the expired session belong to the resource's owner: the
//! signed-in user for personal routes, the team's owner for team routes.
//! `/ws` is not here: who may follow which topic is tested in `live.rs` and
//! `deployments.rs`.

use chrono::{TimeDelta, Utc};
use diesel::{ExpressionMethods as _, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use reqwest::header::{AUTHORIZATION, COOKIE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::rate_limit::{Backoff, Budget, LimitSettings};
use service::auth::{RequestMeta, SessionPolicy, sessions};
use service::schema::{api_keys, users, workspace_members, workspaces};
use std::time::Duration;
use types::UserId;
use uuid::Uuid;

use crate::support::TestApp;
use crate::support::browser::{Browser, STRONG_PASSWORD};
use crate::support::github::FakeGithub;
use crate::support::stripe::FakeStripe;

/// An input the launch content-creator agent's input schema takes.
const TRY_INPUT: &str =
    r#"{"topic": "tea", "audience": "tea drinkers", "key_points": ["brew it cool"]}"#;

/// The server functions of the Triggers panel and the Webhooks page.
const TRIGGER_FUNCTIONS: [&str; 14] = [
    "/api/fn/list_schedules",
    "/api/fn/create_schedule",
    "/api/fn/change_schedule",
    "/api/fn/delete_schedule",
    "/api/fn/preview_schedule",
    "/api/fn/list_hooks",
    "/api/fn/create_hook",
    "/api/fn/delete_hook",
    "/api/fn/list_webhook_endpoints",
    "/api/fn/create_webhook_endpoint",
    "/api/fn/delete_webhook_endpoint",
    "/api/fn/test_webhook_endpoint",
    "/api/fn/list_webhook_deliveries",
    "/api/fn/redeliver_webhook",
];

/// The server functions of the Embeds panel.
const EMBED_FUNCTIONS: [&str; 6] = [
    "/api/fn/list_embeds",
    "/api/fn/create_embed",
    "/api/fn/replace_embed",
    "/api/fn/rotate_embed_secret",
    "/api/fn/delete_embed",
    "/api/fn/get_embed_stats",
];

/// The server functions of the Integrations page and the Connections panel.
const CONNECTION_FUNCTIONS: [&str; 7] = [
    "/api/fn/list_connections",
    "/api/fn/connect_key",
    "/api/fn/connect_by_sign_in",
    "/api/fn/disconnect_connection",
    "/api/fn/list_deployment_connections",
    "/api/fn/bind_deployment_connection",
    "/api/fn/unbind_deployment_connection",
];

/// The columns of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// Signed in; owns the personal resources, a stranger to the team.
    User,
    /// Signed in; owns nothing here.
    Other,
    Viewer,
    Member,
    Admin,
    Owner,
    /// The resource owner's key holding every scope.
    KeyWithScope,
    /// The resource owner's key holding only a scope no route here needs.
    KeyWithoutScope,
    RevokedKey,
    /// The resource owner's session, past its absolute expiry.
    ExpiredSession,
}

const WHO: [Who; 11] = [
    Who::Anonymous,
    Who::User,
    Who::Other,
    Who::Viewer,
    Who::Member,
    Who::Admin,
    Who::Owner,
    Who::KeyWithScope,
    Who::KeyWithoutScope,
    Who::RevokedKey,
    Who::ExpiredSession,
];

/// Whose resource a route touches; decides who holds the keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Public,
    Personal,
    Team,
}

/// A route and the status each caller gets, in `WHO` order.
struct Row {
    method: Method,
    route: &'static str,
    scope: Scope,
    expect: [u16; 11],
}

//                          anon user othr view memb admn ownr key+ key- rvkd expd
const OPEN: [u16; 11] = [200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200];
const READ_AGENTS: [u16; 11] = [200, 200, 200, 200, 200, 200, 200, 200, 403, 401, 200];
const SIGNED_IN_ONLY: fn(u16) -> [u16; 11] = |ok| [401, ok, ok, ok, ok, ok, ok, 403, 403, 401, 401];
/// Signed-in people, and a key holding `keys:write`.
const KEY_MANAGERS: fn(u16) -> [u16; 11] = |ok| [401, ok, ok, ok, ok, ok, ok, ok, 403, 401, 401];
/// A key holding `mcp`, only.
const MCP: fn(u16) -> [u16; 11] = |ok| [401, 401, 401, 401, 401, 401, 401, ok, 403, 401, 401];
const TEAM_MEMBERS: fn(u16) -> [u16; 11] = |ok| [401, 404, 404, ok, ok, ok, ok, 403, 403, 401, 401];
/// A caller's own workspace's billing (each signed-in caller has one).
const BILLING_OWN: [u16; 11] = [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401];
const TEAM_BILLING: [u16; 11] = [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401];
const TEAM_ADMINS: fn(u16) -> [u16; 11] =
    |ok| [401, 404, 404, 403, 403, ok, ok, 403, 403, 401, 401];

fn rows() -> Vec<Row> {
    use Scope::{Personal, Public, Team};
    let row = |method: Method, route, scope, expect| Row {
        method,
        route,
        scope,
        expect,
    };
    vec![
        row(Method::GET, "/healthz", Public, [200; 11]),
        row(Method::GET, "/readyz", Public, [200; 11]),
        row(Method::GET, "/", Public, [200; 11]),
        row(Method::GET, "/settings", Public, [200; 11]),
        // Pages that can be shared and found: read as anyone, whoever asks.
        row(Method::GET, "/agents/{agent}", Public, [200; 11]),
        row(Method::GET, "/agents/{agent}/card.png", Public, [200; 11]),
        row(Method::GET, "/sitemap.xml", Public, [200; 11]),
        row(Method::GET, "/robots.txt", Public, [200; 11]),
        row(Method::GET, "/api/v1/agents", Public, READ_AGENTS),
        row(Method::GET, "/api/v1/agents/{agent}", Public, READ_AGENTS),
        row(
            Method::GET,
            "/api/v1/agents/{agent}/reviews",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::GET,
            "/api/v1/agents/{agent}/versions",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::GET,
            "/api/v1/agents/{agent}/versions/1.0.0",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::GET,
            "/api/v1/creators/agentdeck",
            Public,
            READ_AGENTS,
        ),
        row(Method::GET, "/api/v1/templates", Public, OPEN),
        row(
            Method::POST,
            "/api/v1/agents/{agent}/try",
            Public,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/markdown",
            Public,
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/me/agents",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(Method::GET, "/api/fn/list_agents", Public, READ_AGENTS),
        row(Method::GET, "/api/fn/get_agent", Public, READ_AGENTS),
        // Prices are public, whoever asks (a revoked key is still refused).
        row(Method::GET, "/api/fn/get_pricing", Public, OPEN),
        row(Method::GET, "/api/v1/pricing", Public, OPEN),
        // The API's description and its reference page: public, read
        // whatever the caller holds (a stale cookie must not break the
        // reference page), within the per-address budget of share.rs.
        row(Method::GET, "/api/v1/openapi.json", Public, [200; 11]),
        row(Method::GET, "/docs/api", Public, [200; 11]),
        row(Method::GET, "/pricing", Public, [200; 11]),
        row(Method::GET, "/api/v1/nowhere", Public, {
            let mut expect = [404; 11];
            expect[9] = 401;
            expect
        }),
        row(Method::GET, "/api/v1/auth/providers", Public, OPEN),
        row(
            Method::POST,
            "/api/v1/auth/signup",
            Public,
            [201, 201, 201, 201, 201, 201, 201, 403, 403, 401, 201],
        ),
        row(
            Method::POST,
            "/api/v1/auth/login",
            Public,
            [200, 200, 200, 200, 200, 200, 200, 403, 403, 401, 200],
        ),
        // Getting back in: anyone in a browser (the same answer for any
        // address); a made-up link is refused after the access check.
        row(
            Method::POST,
            "/api/v1/auth/password-reset",
            Public,
            [202, 202, 202, 202, 202, 202, 202, 403, 403, 401, 202],
        ),
        row(
            Method::POST,
            "/api/v1/auth/password-reset/complete",
            Public,
            [422, 422, 422, 422, 422, 422, 422, 403, 403, 401, 422],
        ),
        row(
            Method::POST,
            "/api/v1/auth/verify-email",
            Public,
            [422, 422, 422, 422, 422, 422, 422, 403, 403, 401, 422],
        ),
        row(
            Method::GET,
            "/auth/github/start",
            Public,
            [303, 303, 303, 303, 303, 303, 303, 403, 403, 401, 303],
        ),
        row(
            Method::GET,
            "/auth/github/callback",
            Public,
            [303, 303, 303, 303, 303, 303, 303, 403, 403, 401, 303],
        ),
        row(
            Method::GET,
            "/api/v1/me",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/sessions",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/v1/sessions/revoke-others",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        // The MCP server takes a bearer token holding `mcp`, never a
        // cookie. The POST (a JSON-RPC ping) and GET here do not say they
        // take `text/event-stream`, which the transport refuses (406) once
        // the caller is let in; DELETE names no session (400).
        row(Method::POST, "/mcp", Personal, MCP(406)),
        // The OAuth authorization server in front of it: anyone, whatever
        // cookie or key they hold (clients authenticate themselves in the
        // body); these bodies are empty, so each is a 400 of its own.
        row(
            Method::GET,
            "/.well-known/oauth-protected-resource/mcp",
            Public,
            [200; 11],
        ),
        row(
            Method::GET,
            "/.well-known/oauth-protected-resource",
            Public,
            [200; 11],
        ),
        row(
            Method::GET,
            "/.well-known/oauth-authorization-server",
            Public,
            [200; 11],
        ),
        row(Method::POST, "/oauth/register", Public, [400; 11]),
        row(Method::GET, "/oauth/authorize", Public, [400; 11]),
        row(Method::POST, "/oauth/token", Public, [400; 11]),
        row(Method::POST, "/oauth/revoke", Public, [400; 11]),
        row(Method::GET, "/mcp", Personal, MCP(406)),
        row(Method::DELETE, "/mcp", Personal, MCP(400)),
        // Keys holding `keys:write` manage their workspace's keys.
        row(Method::GET, "/api/v1/api-keys", Personal, KEY_MANAGERS(200)),
        row(
            Method::POST,
            "/api/v1/api-keys",
            Personal,
            KEY_MANAGERS(201),
        ),
        row(
            Method::DELETE,
            "/api/v1/api-keys/{own key}",
            Personal,
            // A key manages the keys it made, not its owner's others.
            [401, 204, 404, 404, 404, 404, 404, 404, 403, 401, 401],
        ),
        // Device sign-in: anyone starts and polls (a bad bearer is still
        // refused); approving is for a browser session.
        row(
            Method::POST,
            "/api/v1/device/code",
            Public,
            [201, 201, 201, 201, 201, 201, 201, 201, 201, 401, 201],
        ),
        row(
            Method::POST,
            "/api/v1/device/token (a pending code)",
            Public,
            [200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200],
        ),
        // The caller's own address and password, in a browser session only
        // (everyone here verified already; the current password is wrong).
        row(
            Method::POST,
            "/api/v1/me/email/verification",
            Personal,
            SIGNED_IN_ONLY(409),
        ),
        row(
            Method::POST,
            "/api/v1/me/email",
            Personal,
            SIGNED_IN_ONLY(202),
        ),
        row(
            Method::POST,
            "/api/v1/me/password",
            Personal,
            SIGNED_IN_ONLY(422),
        ),
        row(
            Method::POST,
            "/api/v1/auth/logout",
            Personal,
            SIGNED_IN_ONLY(204),
        ),
        // Before the team rows, which put the team's people in many teams.
        row(Method::POST, "/api/v1/teams", Personal, SIGNED_IN_ONLY(201)),
        row(Method::GET, "/api/v1/teams", Personal, SIGNED_IN_ONLY(200)),
        row(
            Method::POST,
            "/api/fn/create_team",
            Personal,
            SIGNED_IN_ONLY(201),
        ),
        row(
            Method::GET,
            "/api/fn/list_teams",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(Method::GET, "/api/v1/teams/{team}", Team, TEAM_MEMBERS(200)),
        row(
            Method::POST,
            "/api/v1/api-keys (in the team)",
            Team,
            [401, 404, 404, 201, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/teams/{team}/invites",
            Team,
            TEAM_ADMINS(200),
        ),
        row(
            Method::POST,
            "/api/v1/teams/{team}/invites",
            Team,
            TEAM_ADMINS(201),
        ),
        row(
            Method::DELETE,
            "/api/v1/teams/{team}/invites/{invite}",
            Team,
            TEAM_ADMINS(204),
        ),
        row(
            Method::PATCH,
            "/api/v1/teams/{team}/members/{member}",
            Team,
            TEAM_ADMINS(204),
        ),
        row(
            Method::DELETE,
            "/api/v1/teams/{team}/members/{member}",
            Team,
            TEAM_ADMINS(204),
        ),
        row(
            Method::POST,
            "/api/v1/teams/{team}/leave",
            Team,
            // The owner is the last one and may not go.
            [401, 404, 404, 204, 204, 204, 409, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/teams/{team}/audit",
            Team,
            // Keys may read it with `audit:read`, within the admin role.
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        // Agents of a team: members edit, test and publish; viewers look;
        // strangers do not learn an unpublished agent exists.
        row(
            Method::POST,
            "/api/v1/agents (in the team)",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/agents/{team agent}",
            Team,
            [404, 404, 404, 200, 200, 200, 200, 200, 403, 401, 404],
        ),
        row(
            Method::GET,
            "/api/v1/agents/{team agent}/draft",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/agents/{team agent}/test-runs",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/agents/{team agent}/versions",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::PATCH,
            "/api/v1/agents/{team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/agents/{team agent}",
            Team,
            [401, 404, 404, 403, 204, 204, 204, 204, 403, 401, 401],
        ),
        // Deployments of a team: members deploy, act and run; viewers look.
        row(
            Method::POST,
            "/api/v1/deployments (in the team)",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/stop",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/deployments/{team deployment}/secrets",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/deployments/{team deployment}/config",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/runs",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/runs",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        // Runs' input, output and logs take `runs:read` (issue 19).
        row(
            Method::GET,
            "/api/v1/runs/{team run}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/metrics?minutes=60",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        // Outgoing webhooks: admins and owners manage endpoints (they send
        // the workspace's data outside); anyone in it reads them and the log.
        row(
            Method::GET,
            "/api/v1/webhooks/endpoints?workspace={team}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/webhooks/endpoints (in the team)",
            Team,
            [401, 404, 404, 403, 403, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/webhooks/endpoints/{team endpoint}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PATCH,
            "/api/v1/webhooks/endpoints/{team endpoint}",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/webhooks/endpoints/{team endpoint}",
            Team,
            [401, 404, 404, 403, 403, 204, 204, 204, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/webhooks/endpoints/{team endpoint}/rotate-secret",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/webhooks/endpoints/{team endpoint}/test",
            Team,
            [401, 404, 404, 403, 403, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/webhooks/endpoints/{team endpoint}/deliveries",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/webhooks/endpoints/{team endpoint}/redeliver",
            Team,
            [401, 404, 404, 403, 403, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/webhooks/deliveries/{team delivery}/redeliver",
            Team,
            [401, 404, 404, 403, 403, 202, 202, 202, 403, 401, 401],
        ),
        // Inbound webhook URLs: members make them; the URL itself takes
        // no session or key (its token is the credential), whoever calls.
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/hooks",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/hooks",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::PATCH,
            "/api/v1/deployments/{team deployment}/hooks/{team hook}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/deployments/{team deployment}/hooks/{team hook}",
            Team,
            [401, 404, 404, 403, 204, 204, 204, 204, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/hooks/{team hook}/rotate",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(Method::POST, "/hooks/{team hook token}", Team, [200; 11]),
        // Web embeds: members make them, anyone who sees the deployment
        // reads them and their numbers.
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/embeds",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/embeds",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/embeds/{team embed}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/deployments/{team deployment}/embeds/{team embed}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/deployments/{team deployment}/embeds/{team embed}",
            Team,
            [401, 404, 404, 403, 204, 204, 204, 204, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/embeds/{team embed}/secret",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/embeds/{team embed}/stats",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        // The visitor's side: the frame and a session for anyone on an
        // allowed page (here this server's own, the owner's preview);
        // messages only with a visitor token, which no session or key is.
        row(Method::GET, "/embed/{team embed}", Team, [200; 11]),
        row(Method::POST, "/embed/{team embed}/session", Team, [200; 11]),
        row(
            Method::POST,
            "/embed/{team embed}/messages",
            Team,
            [401; 11],
        ),
        row(Method::GET, "/embed/{team embed}/messages", Team, [401; 11]),
        row(
            Method::DELETE,
            "/embed/{team embed}/messages",
            Team,
            [401; 11],
        ),
        // Connections: the catalogue is public; anyone in the workspace
        // (and keys holding `connections:write` or `deployments:write`)
        // lists them; members connect; a sign-in flow needs a browser; the
        // member who connected one, or an admin, disconnects it.
        row(Method::GET, "/api/v1/providers", Public, OPEN),
        row(
            Method::GET,
            "/api/v1/connections?workspace={team}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/connections (in the team)",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/connections/authorize?workspace={team}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/connections/{team connection}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/connections/{team connection}",
            Team,
            [401, 404, 404, 403, 403, 204, 204, 204, 403, 401, 401],
        ),
        // A deployment's bindings: anyone who sees the deployment reads
        // them; binding needs the connection's owner or an admin (the
        // matrix's agent asks for no connection: 422 past the checks);
        // unbinding, members (nothing bound here: 404 past the checks).
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/connections",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/deployments/{team deployment}/connections/github",
            Team,
            [401, 404, 404, 403, 422, 422, 422, 422, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/deployments/{team deployment}/connections/github",
            Team,
            [401, 404, 404, 403, 404, 404, 404, 404, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/connect/callback",
            Public,
            [303, 303, 303, 303, 303, 303, 303, 403, 403, 401, 303],
        ),
        // The Integrations page's and the Connections panel's server
        // functions: the same rules as their REST routes.
        row(Method::GET, "/api/fn/list_providers", Public, OPEN),
        row(
            Method::GET,
            "/api/fn/list_connections?workspace={team}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/connect_key",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/connect_by_sign_in",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/disconnect_connection",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_deployment_connections?deployment={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/bind_deployment_connection",
            Team,
            [401, 404, 404, 403, 422, 422, 422, 422, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/unbind_deployment_connection",
            Team,
            [401, 404, 404, 403, 404, 404, 404, 404, 403, 401, 401],
        ),
        // The Triggers panel's and the Webhooks page's server functions:
        // the same rules as their REST routes.
        row(
            Method::GET,
            "/api/fn/list_schedules?deployment={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_schedule",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/change_schedule",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_schedule",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/preview_schedule",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_hooks?deployment={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_hook",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_hook",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_webhook_endpoints?workspace={team}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_webhook_endpoint",
            Team,
            [401, 404, 404, 403, 403, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_webhook_endpoint",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/test_webhook_endpoint",
            Team,
            [401, 404, 404, 403, 403, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_webhook_deliveries?id={team endpoint}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/redeliver_webhook",
            Team,
            [401, 404, 404, 403, 403, 202, 202, 202, 403, 401, 401],
        ),
        // The Embeds panel's server functions: the same rules as the REST
        // routes of embeds.
        row(
            Method::GET,
            "/api/fn/list_embeds?deployment={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_embed",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/replace_embed",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/rotate_embed_secret",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_embed",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_embed_stats?deployment={team deployment}&embed={team embed}&days=14",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        // Schedules: members make and change them; viewers look.
        row(
            Method::GET,
            "/api/v1/deployments/{team deployment}/schedules",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/deployments/{team deployment}/schedules",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::PATCH,
            "/api/v1/deployments/{team deployment}/schedules/{team schedule}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/deployments/{team deployment}/schedules/{team schedule}",
            Team,
            [401, 404, 404, 403, 204, 204, 204, 204, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/schedules/preview",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            "/api/v1/deployments/{team deployment}",
            Team,
            [401, 404, 404, 403, 204, 204, 204, 204, 403, 401, 401],
        ),
        // The same deployment operations as the SPA's server functions:
        // the same answers (a server function answers 200 where REST has
        // no body).
        row(
            Method::GET,
            "/api/fn/get_deployment?id={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/stop_deployment {team deployment}",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/change_deployment_config {team deployment}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/change_deployment_secrets {team deployment}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/change_deployment_spend_cap {team deployment}",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/start_run {team deployment}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_runs?id={team deployment}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_deployment {team deployment}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_deployments",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/start_deployment {team deployment}",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/restart_deployment {team deployment}",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/redeploy_deployment {team deployment}",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/deployment_metrics?id={team deployment}&minutes=60",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_run?id={team run}",
            Team,
            [401, 404, 404, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/cancel_run {team run}",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/recent_runs",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        // The dashboard's feed: each caller's own runs (none here).
        row(
            Method::GET,
            "/api/v1/runs",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/admin/jobs",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/admin/outbox",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        // Credits: members read a workspace's money, admins its audit log
        // and caps; only platform administrators grant.
        row(Method::GET, "/api/v1/wallet", Personal, BILLING_OWN),
        row(
            Method::GET,
            "/api/v1/wallet?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::GET,
            "/api/v1/ledger?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::GET,
            "/api/v1/ledger.csv?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::GET,
            "/api/v1/billing/usage?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::POST,
            "/api/v1/billing/checkout (for the team)",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/v1/billing/checkouts/{team checkout}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::POST,
            "/webhooks/stripe (unsigned)",
            Public,
            [400; 11],
        ),
        row(Method::GET, "/api/v1/audit", Personal, BILLING_OWN),
        row(
            Method::GET,
            "/api/v1/audit?workspace={team}",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/deployments/{team deployment}/spend-cap",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::PUT,
            "/api/v1/api-keys/{own key}/spend-cap",
            Personal,
            [401, 200, 404, 404, 404, 404, 404, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/admin/credits",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/v1/invites/{invite to user}/accept",
            Team,
            // The invite is for the user's address; nobody else may use it.
            [401, 200, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        // The SPA's other server functions: each answers every caller as
        // its REST twin above does (200 where REST answers 204).
        row(
            Method::POST,
            "/api/fn/try_agent",
            Public,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_version?slug={agent}&version=1.0.0",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::GET,
            "/api/fn/get_creator?handle=agentdeck",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::GET,
            "/api/fn/list_reviews?slug={agent}",
            Public,
            READ_AGENTS,
        ),
        row(
            Method::POST,
            "/api/fn/write_review",
            Public,
            // The key is the user's, who reviewed already: an edit.
            [401, 201, 201, 201, 201, 201, 201, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/reply_to_review",
            Public,
            // Only the agent's author replies; nobody here wrote it.
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(Method::GET, "/api/fn/list_templates", Public, OPEN),
        row(Method::GET, "/api/fn/sign_in_providers", Public, OPEN),
        row(
            Method::POST,
            "/api/fn/sign_up",
            Public,
            [201, 201, 201, 201, 201, 201, 201, 403, 403, 401, 201],
        ),
        row(
            Method::POST,
            "/api/fn/sign_in",
            Public,
            [200, 200, 200, 200, 200, 200, 200, 403, 403, 401, 200],
        ),
        row(
            Method::POST,
            "/api/fn/request_password_reset",
            Public,
            [202, 202, 202, 202, 202, 202, 202, 403, 403, 401, 202],
        ),
        row(
            Method::POST,
            "/api/fn/reset_password",
            Public,
            [422, 422, 422, 422, 422, 422, 422, 403, 403, 401, 422],
        ),
        row(
            Method::POST,
            "/api/fn/verify_email",
            Public,
            [422, 422, 422, 422, 422, 422, 422, 403, 403, 401, 422],
        ),
        row(
            Method::POST,
            "/api/fn/resend_verification",
            Personal,
            SIGNED_IN_ONLY(409),
        ),
        row(
            Method::POST,
            "/api/fn/change_email",
            Personal,
            SIGNED_IN_ONLY(202),
        ),
        row(
            Method::POST,
            "/api/fn/change_password",
            Personal,
            SIGNED_IN_ONLY(422),
        ),
        row(
            Method::GET,
            "/api/fn/mail_outbox",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/render_markdown",
            Public,
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/own_agents",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/current_user",
            Personal,
            [401, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/list_sessions",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/fn/sign_out",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/fn/revoke_other_sessions",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/fn/list_api_keys",
            Personal,
            KEY_MANAGERS(200),
        ),
        row(
            Method::POST,
            "/api/fn/create_api_key",
            Personal,
            KEY_MANAGERS(201),
        ),
        row(
            Method::POST,
            "/api/fn/revoke_api_key {own key}",
            Personal,
            [401, 200, 404, 404, 404, 404, 404, 404, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/device_request",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/fn/decide_device",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        // An MCP client's authorization: seen and decided by a person.
        row(
            Method::POST,
            "/api/fn/consent_request",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::POST,
            "/api/fn/decide_consent",
            Personal,
            SIGNED_IN_ONLY(200),
        ),
        row(
            Method::GET,
            "/api/fn/job_queue",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/retry_job",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/discard_job",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/grant_credits",
            Personal,
            [401, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(Method::GET, "/api/fn/get_wallet", Personal, BILLING_OWN),
        row(
            Method::GET,
            "/api/fn/get_team?slug={team}",
            Team,
            TEAM_MEMBERS(200),
        ),
        row(
            Method::GET,
            "/api/fn/list_invites?slug={team}",
            Team,
            TEAM_ADMINS(200),
        ),
        row(
            Method::POST,
            "/api/fn/create_invite",
            Team,
            TEAM_ADMINS(201),
        ),
        row(
            Method::POST,
            "/api/fn/revoke_invite {invite}",
            Team,
            TEAM_ADMINS(200),
        ),
        row(
            Method::POST,
            "/api/fn/change_member_role",
            Team,
            TEAM_ADMINS(200),
        ),
        row(
            Method::POST,
            "/api/fn/remove_member",
            Team,
            TEAM_ADMINS(200),
        ),
        row(
            Method::POST,
            "/api/fn/leave_team",
            Team,
            [401, 404, 404, 200, 200, 200, 409, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/team_audit_log?slug={team}",
            Team,
            [401, 404, 404, 403, 403, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/accept_invite {invite to user}",
            Team,
            [401, 200, 403, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_agent (in the team)",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_draft?slug={team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/save_draft {team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/test_run {team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/publish_version {team agent}",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 201, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/change_agent_settings {team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/delete_agent {team agent}",
            Team,
            [401, 404, 404, 403, 200, 200, 200, 200, 403, 401, 401],
        ),
        row(
            Method::POST,
            "/api/fn/create_deployment (in the team)",
            Team,
            [401, 404, 404, 403, 202, 202, 202, 202, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_wallet?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::GET,
            "/api/fn/ledger_lines?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::GET,
            "/api/fn/get_usage?workspace={team}",
            Team,
            TEAM_BILLING,
        ),
        row(
            Method::POST,
            "/api/fn/start_checkout (for the team)",
            Team,
            [401, 404, 404, 403, 201, 201, 201, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/api/fn/get_checkout?id={team checkout}",
            Team,
            TEAM_BILLING,
        ),
    ]
}

struct Person {
    id: UserId,
    email: String,
    /// A long-lived session used to set up fixtures.
    browser: Browser,
}

/// How a request proves who it is.
enum Credentials {
    None,
    Cookie { token: String, csrf: String },
    Bearer(String),
}

struct Matrix {
    app: TestApp,
    _github: FakeGithub,
    _stripe: FakeStripe,
    user: Person,
    other: Person,
    viewer: Person,
    member: Person,
    admin: Person,
    owner: Person,
    counter: u32,
}

async fn person(app: &TestApp, email: &str) -> Person {
    let name = email.split('@').next().expect("local part");
    let (browser, me) = Browser::sign_up(app, email, name).await;
    let id = me["user"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .map(UserId)
        .expect("user id");
    Person {
        id,
        email: email.to_owned(),
        browser,
    }
}

/// A digest of everything a refused request must leave alone. Activity
/// stamps (`last_seen_at`, `last_used_at`) are left out: reading moves them.
async fn fingerprint(conn: &mut AsyncPgConnection) -> String {
    #[derive(QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let row: Digest = diesel::sql_query(
        "SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) AS digest FROM (
             SELECT 'u' || id || coalesce(email, '') || coalesce(password_hash, '')
                 || handle || display_name || email_verified AS x FROM users
             UNION ALL SELECT 't' || id || email || coalesce(used_at::text, '')
                 FROM account_tokens
             UNION ALL SELECT 'w' || id || slug || name FROM workspaces
             UNION ALL SELECT 'm' || workspace_id || user_id || role FROM workspace_members
             UNION ALL SELECT 'i' || id || email || role || coalesce(accepted_at::text, '')
                 || coalesce(revoked_at::text, '') FROM workspace_invites
             UNION ALL SELECT 'k' || id || coalesce(revoked_at::text, '')
                 || coalesce(spend_cap_credits::text, '') FROM api_keys
             UNION ALL SELECT 's' || id || coalesce(revoked_at::text, '') || expires_at
                 FROM sessions
             UNION ALL SELECT 'a' || id || slug || name || visibility
                 || coalesce(published_at::text, '') FROM agents
             UNION ALL SELECT 'v' || id FROM agent_versions
             UNION ALL SELECT 'd' || agent_id || revision FROM agent_drafts
             UNION ALL SELECT 'r' || id || rating || coalesce(reply, '') FROM agent_reviews
             UNION ALL SELECT 'D' || id || status || generation || config::text
                 || coalesce(spend_cap_credits::text, '') || coalesce(deleted_at::text, '')
                 FROM deployments
             UNION ALL SELECT 'S' || deployment_id || name FROM deployment_secrets
             UNION ALL SELECT 'L' || id FROM ledger_transactions
             UNION ALL SELECT 'C' || id || status FROM billing_checkouts
             UNION ALL SELECT 'R' || id || status || cancel_requested FROM runs
             UNION ALL SELECT 'J' || id || state || attempts FROM jobs
         ) AS everything",
    )
    .get_result(conn)
    .await
    .expect("fingerprinting the database");
    row.digest
}

impl Matrix {
    async fn new() -> Self {
        let github = FakeGithub::start().await;
        let stripe = FakeStripe::start().await;
        let plenty = Budget {
            requests: 10_000,
            window: Duration::from_secs(60),
        };
        let never = Backoff {
            free: 10_000,
            first: Duration::from_secs(1),
            longest: Duration::from_secs(1),
        };
        let app = TestApp::builder()
            .limits(LimitSettings {
                login_per_account: never,
                login_per_ip: never,
                login_per_device: never,
                signup_per_ip: plenty,
                mail_per_recipient: plenty,
                mail_per_ip: plenty,
                api_per_ip: plenty,
                device_per_ip: plenty,
                device_lookups_per_user: plenty,
                device_lookups_per_ip: plenty,
                oauth_register_per_ip: plenty,
            })
            .github(&github.base_url)
            .payments(&stripe.base_url)
            // An app at GitHub for connections: starting a flow calls no
            // one, so no stand-in is needed.
            .connections(service::connections::ConnectionSettings::new(
                service::connections::catalogue::Catalogue::built_in().expect("the catalogue"),
                [(
                    "github".to_owned(),
                    service::connections::OAuthClient {
                        id: "matrix-client".to_owned(),
                        secret: "matrix-secret".to_owned(),
                    },
                )]
                .into(),
            ))
            .spawn()
            .await;
        let user = person(&app, "user@example.com").await;
        let other = person(&app, "other@example.com").await;
        let viewer = person(&app, "viewer@example.com").await;
        let member = person(&app, "member@example.com").await;
        let admin = person(&app, "admin@example.com").await;
        let owner = person(&app, "owner@example.com").await;
        Self {
            app,
            _github: github,
            _stripe: stripe,
            user,
            other,
            viewer,
            member,
            admin,
            owner,
            counter: 0,
        }
    }

    /// A fresh authorization of an MCP client, waiting for its person.
    async fn consent_request(&self) -> String {
        let (status, client) = crate::support::json_of(
            self.app
                .http
                .post(self.app.url("/oauth/register"))
                .json(&json!({ "redirect_uris": ["http://127.0.0.1:9/cb"] }))
                .send()
                .await
                .expect("register"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{client}");
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client")
            .get(self.app.url("/oauth/authorize"))
            .query(&[
                ("response_type", "code"),
                (
                    "client_id",
                    client["client_id"].as_str().unwrap_or_default(),
                ),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .expect("authorize");
        let location = response.headers()["location"].to_str().expect("text");
        location
            .strip_prefix("/oauth/consent?request=")
            .unwrap_or_else(|| panic!("{location}"))
            .to_owned()
    }

    /// A fresh pending device sign-in: its device code and user code.
    async fn device_grant(&self) -> (String, String) {
        let response = self
            .app
            .http
            .post(self.app.url("/api/v1/device/code"))
            .json(&json!({ "client_name": "matrix", "scopes": ["agents:read"] }))
            .send()
            .await
            .expect("starting a device sign-in");
        assert_eq!(response.status(), StatusCode::CREATED);
        let started: Value = response.json().await.expect("JSON");
        let code = |field: &str| started[field].as_str().expect("a code").to_owned();
        (code("device_code"), code("user_code"))
    }

    fn unique(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}{}", self.counter)
    }

    fn person(&self, who: Who) -> Option<&Person> {
        match who {
            Who::User => Some(&self.user),
            Who::Other => Some(&self.other),
            Who::Viewer => Some(&self.viewer),
            Who::Member => Some(&self.member),
            Who::Admin => Some(&self.admin),
            Who::Owner => Some(&self.owner),
            _ => None,
        }
    }

    /// A fresh session for `user`, as signing in would make.
    async fn session(&self, user: UserId) -> (String, String) {
        let mut conn = self.app.sql().await;
        let meta = RequestMeta::new("127.0.0.1", "matrix");
        let session = sessions::create(&mut conn, user, &meta, SessionPolicy::default())
            .await
            .expect("creating a session");
        (session.token, session.csrf_token)
    }

    /// A call as `who` in a session of its own, so cells that sign people
    /// out cannot break the set-up of later ones.
    async fn as_person(
        &self,
        who: Who,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let user = self.person(who).expect("a person").id;
        let (token, csrf) = self.session(user).await;
        let credentials = Credentials::Cookie { token, csrf };
        let (status, text) = self.call(&method, path, body, &credentials).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A key of `owner` through the API, in `workspace` (personal if none).
    async fn key(
        &mut self,
        owner: Who,
        workspace: Option<Uuid>,
        scopes: &[&str],
    ) -> (Uuid, String) {
        let name = self.unique("key");
        let (status, key) = self
            .as_person(
                owner,
                Method::POST,
                "/api/v1/api-keys",
                Some(json!({ "name": name, "scopes": scopes, "workspace": workspace })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let id = key["key"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no key id in {key}"));
        let token = key["token"].as_str().expect("token").to_owned();
        (id, token)
    }

    /// A fresh team `slug` owned by the owner, with the admin, member and
    /// viewer in their roles and a new plain member to act on.
    async fn team(&mut self) -> (Uuid, String, UserId) {
        let slug = self.unique("team-");
        let target_handle = self.unique("target-");
        let mut conn = self.app.sql().await;
        let team: Uuid = diesel::insert_into(workspaces::table)
            .values((
                workspaces::kind.eq("team"),
                workspaces::slug.eq(&slug),
                workspaces::name.eq(&slug),
            ))
            .returning(workspaces::id)
            .get_result(&mut conn)
            .await
            .expect("creating a team");
        let target: Uuid = diesel::insert_into(users::table)
            .values((
                users::handle.eq(&target_handle),
                users::display_name.eq(&target_handle),
                users::email.eq(format!("{target_handle}@example.com")),
            ))
            .returning(users::id)
            .get_result(&mut conn)
            .await
            .expect("creating the target member");
        let members = [
            (self.owner.id.0, "owner"),
            (self.admin.id.0, "admin"),
            (self.member.id.0, "member"),
            (self.viewer.id.0, "viewer"),
            (target, "member"),
        ];
        for (user, role) in members {
            diesel::insert_into(workspace_members::table)
                .values((
                    workspace_members::workspace_id.eq(team),
                    workspace_members::user_id.eq(user),
                    workspace_members::role.eq(role),
                ))
                .execute(&mut conn)
                .await
                .expect("adding a member");
        }
        (team, slug, UserId(target))
    }

    /// A new unpublished agent in `team`, made in the database; its slug.
    async fn team_agent(&mut self, team: Option<Uuid>) -> String {
        let slug = self.unique("team-agent-");
        let team = team.expect("a team route");
        let mut conn = self.app.sql().await;
        diesel::insert_into(service::schema::agents::table)
            .values((
                service::schema::agents::slug.eq(&slug),
                service::schema::agents::owner_user_id.eq(self.owner.id.0),
                service::schema::agents::workspace_id.eq(team),
                service::schema::agents::name.eq(&slug),
                service::schema::agents::summary.eq("made for the matrix"),
                service::schema::agents::category.eq("operations"),
            ))
            .execute(&mut conn)
            .await
            .expect("creating a team agent");
        slug
    }

    /// A queued run of a new deployment in `team`, made in the database.
    async fn team_run(&mut self, team: Option<Uuid>) -> Uuid {
        use service::schema::runs;
        let deployment = self.team_deployment(team).await;
        let mut conn = self.app.sql().await;
        diesel::insert_into(runs::table)
            .values((
                runs::deployment_id.eq(deployment),
                runs::workspace_id.eq(team.expect("a team route")),
                runs::status.eq("queued"),
                runs::trigger.eq("api"),
                runs::input.eq(json!({})),
                runs::created_by.eq(self.owner.id.0),
            ))
            .returning(runs::id)
            .get_result(&mut conn)
            .await
            .expect("creating a run")
    }

    /// A running deployment of `analytics` in `team`, made in the database.
    async fn team_deployment(&mut self, team: Option<Uuid>) -> Uuid {
        use diesel::QueryDsl as _;
        use service::schema::{agent_versions, agents, deployments};
        let team = team.expect("a team route");
        let mut conn = self.app.sql().await;
        let (agent, version): (Uuid, Uuid) = agent_versions::table
            .inner_join(agents::table)
            .filter(agents::slug.eq("analytics"))
            .select((agents::id, agent_versions::id))
            .first(&mut conn)
            .await
            .expect("the analytics agent");
        // The analytics agent costs credits; the team has some.
        crate::support::grant_credits(&mut conn, team, 1_000).await;
        diesel::insert_into(deployments::table)
            .values((
                deployments::workspace_id.eq(team),
                deployments::agent_id.eq(agent),
                deployments::version_id.eq(version),
                deployments::name.eq("matrix"),
                deployments::status.eq("running"),
                deployments::created_by.eq(self.owner.id.0),
            ))
            .returning(deployments::id)
            .get_result(&mut conn)
            .await
            .expect("creating a deployment")
    }

    /// An endpoint of the team, made by its owner, with one failed
    /// delivery: their ids.
    async fn endpoint(&mut self, slug: &str) -> (String, i64) {
        use service::schema::{webhook_deliveries, webhook_events};
        let (status, made) = self
            .as_person(
                Who::Owner,
                Method::POST,
                "/api/v1/webhooks/endpoints",
                Some(json!({
                    "url": "https://hooks.example.com/agentdeck",
                    "event_types": ["run.failed"],
                    "workspace": slug,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let endpoint = made["endpoint"]["id"].as_str().expect("an id").to_owned();
        let id: Uuid = endpoint.parse().expect("a uuid");
        let mut conn = self.app.sql().await;
        let workspace: Uuid = {
            use diesel::QueryDsl as _;
            service::schema::webhook_endpoints::table
                .find(id)
                .select(service::schema::webhook_endpoints::workspace_id)
                .first(&mut conn)
                .await
                .expect("the endpoint")
        };
        let event = format!("msg_{}", Uuid::new_v4().simple());
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::id.eq(&event),
                webhook_events::workspace_id.eq(workspace),
                webhook_events::event_type.eq("run.failed"),
                webhook_events::payload.eq(json!({ "type": "run.failed", "data": {} })),
            ))
            .execute(&mut conn)
            .await
            .expect("an event");
        let delivery: i64 = diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::endpoint_id.eq(id),
                webhook_deliveries::event_id.eq(&event),
                webhook_deliveries::state.eq("failed"),
                webhook_deliveries::attempts.eq(8),
            ))
            .returning(webhook_deliveries::id)
            .get_result(&mut conn)
            .await
            .expect("a delivery");
        (endpoint, delivery)
    }

    /// A key connection of the team, made by its owner: its id.
    async fn connection(&mut self, slug: &str) -> String {
        let (status, made) = self
            .as_person(
                Who::Owner,
                Method::POST,
                &format!("/api/v1/connections?workspace={slug}"),
                Some(json!({ "provider": "openai", "key": "sk-matrix-key-0002" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made["id"].as_str().expect("an id").to_owned()
    }

    /// A webhook URL of `deployment`, made by the team's owner: its id and
    /// URL.
    async fn hook(&mut self, deployment: Uuid) -> (String, String) {
        let (status, made) = self
            .as_person(
                Who::Owner,
                Method::POST,
                &format!("/api/v1/deployments/{deployment}/hooks"),
                Some(json!({ "name": "matrix" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        (
            made["hook"]["id"].as_str().expect("an id").to_owned(),
            made["url"].as_str().expect("a url").to_owned(),
        )
    }

    /// An embed of `deployment`, made by the team's owner: its id.
    async fn embed(&mut self, deployment: Uuid) -> String {
        let (status, made) = self
            .as_person(
                Who::Owner,
                Method::POST,
                &format!("/api/v1/deployments/{deployment}/embeds"),
                Some(json!({
                    "name": "matrix", "allowed_origins": ["https://shop.example.com"],
                    "input": "form",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made["embed"]["id"].as_str().expect("an id").to_owned()
    }

    /// The path and body of an Embeds server function, with the deployment
    /// (and the embed, made by the team's owner) it acts on made fresh.
    async fn embed_function(
        &mut self,
        row: &Row,
        team: Option<&(Uuid, String, UserId)>,
    ) -> (String, Option<Value>) {
        let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
        let name = row.route.split('?').next().unwrap_or(row.route);
        let embed = match name {
            "/api/fn/list_embeds" | "/api/fn/create_embed" => String::new(),
            _ => self.embed(deployment).await,
        };
        let settings = json!({
            "name": "Shop", "allowed_origins": ["https://shop.example.com"], "input": "form",
        });
        let body = match name {
            "/api/fn/list_embeds" | "/api/fn/get_embed_stats" => {
                let path = row
                    .route
                    .replace("{team deployment}", &deployment.to_string())
                    .replace("{team embed}", &embed);
                return (path, None);
            }
            "/api/fn/create_embed" => json!({ "deployment": deployment, "settings": settings }),
            "/api/fn/replace_embed" => {
                json!({ "deployment": deployment, "embed": embed, "settings": settings })
            }
            "/api/fn/rotate_embed_secret" | "/api/fn/delete_embed" => {
                json!({ "deployment": deployment, "embed": embed })
            }
            other => panic!("no body for {other}"),
        };
        (name.to_owned(), Some(body))
    }

    /// The path and body of a Connections server function, with what it
    /// acts on (a deployment, a connection the team's owner made) made
    /// fresh in the team.
    async fn connection_function(
        &mut self,
        row: &Row,
        team: Option<&(Uuid, String, UserId)>,
        slug: &str,
    ) -> (String, Option<Value>) {
        let name = row.route.split('?').next().unwrap_or(row.route);
        let team = team.map(|(id, _, _)| *id);
        let body = match name {
            "/api/fn/list_connections" => {
                return (row.route.replace("{team}", slug), None);
            }
            "/api/fn/list_deployment_connections" => {
                let deployment = self.team_deployment(team).await;
                return (
                    row.route
                        .replace("{team deployment}", &deployment.to_string()),
                    None,
                );
            }
            "/api/fn/connect_key" => json!({
                "workspace": slug,
                "request": { "provider": "openai", "key": "sk-matrix-key-0003" },
            }),
            "/api/fn/connect_by_sign_in" => json!({
                "workspace": slug,
                "request": { "provider": "github", "scopes": ["repo"] },
            }),
            "/api/fn/disconnect_connection" => json!({ "id": self.connection(slug).await }),
            "/api/fn/bind_deployment_connection" => json!({
                "deployment": self.team_deployment(team).await,
                "provider": "github",
                "request": { "connection": Uuid::new_v4(), "consented": true, "consent": [] },
            }),
            "/api/fn/unbind_deployment_connection" => {
                json!({ "deployment": self.team_deployment(team).await, "provider": "github" })
            }
            other => panic!("no body for {other}"),
        };
        (name.to_owned(), Some(body))
    }

    /// The path and body of a Triggers or Webhooks server function, with
    /// what it acts on made fresh in the team.
    async fn trigger_function(
        &mut self,
        row: &Row,
        team: Option<&(Uuid, String, UserId)>,
        slug: &str,
    ) -> (String, Option<Value>) {
        let team_id = team.map(|(id, _, _)| *id);
        let route = row.route.replace("{team}", slug);
        let series = json!({ "series": [{ "date": "2026-01-01", "value": 1 }, { "date": "2026-01-02", "value": 2 }] });
        let name = route.split('?').next().unwrap_or(&route).to_owned();
        let deployment = if name != "/api/fn/preview_schedule"
            && (route.contains("deployment")
                || route.contains("schedule")
                || route.contains("hook"))
        {
            Some(self.team_deployment(team_id).await)
        } else {
            None
        };
        let body = match name.as_str() {
            "/api/fn/list_schedules" | "/api/fn/list_hooks" => {
                let id = deployment.expect("a deployment").to_string();
                return (route.replace("{team deployment}", &id), None);
            }
            "/api/fn/list_webhook_endpoints" => return (route, None),
            "/api/fn/list_webhook_deliveries" => {
                let (endpoint, _) = self.endpoint(slug).await;
                return (route.replace("{team endpoint}", &endpoint), None);
            }
            "/api/fn/create_schedule" => json!({ "deployment": deployment, "schedule": {
                "name": "Mornings", "cron": "0 9 * * *", "time_zone": "Europe/Berlin", "input": series } }),
            "/api/fn/change_schedule" => {
                let schedule = self.schedule(deployment.expect("a deployment")).await;
                json!({ "deployment": deployment, "schedule": schedule, "change": { "enabled": false } })
            }
            "/api/fn/delete_schedule" => {
                let schedule = self.schedule(deployment.expect("a deployment")).await;
                json!({ "deployment": deployment, "schedule": schedule })
            }
            "/api/fn/preview_schedule" => {
                json!({ "request": { "cron": "30 2 * * *", "time_zone": "Europe/Berlin" } })
            }
            "/api/fn/create_hook" => {
                json!({ "deployment": deployment, "hook": { "name": "Orders" } })
            }
            "/api/fn/delete_hook" => {
                let (hook, _) = self.hook(deployment.expect("a deployment")).await;
                json!({ "deployment": deployment, "hook": hook })
            }
            "/api/fn/create_webhook_endpoint" => json!({ "endpoint": {
                "url": "https://hooks.example.com/agentdeck", "event_types": ["run.failed"], "workspace": slug } }),
            "/api/fn/delete_webhook_endpoint" | "/api/fn/test_webhook_endpoint" => {
                json!({ "id": self.endpoint(slug).await.0 })
            }
            "/api/fn/redeliver_webhook" => json!({ "delivery": self.endpoint(slug).await.1 }),
            other => panic!("no body for {other}"),
        };
        (name, Some(body))
    }

    /// A schedule of `deployment`, made in the database by its owner.
    async fn schedule(&mut self, deployment: Uuid) -> Uuid {
        use diesel::QueryDsl as _;
        use service::schema::{deployments, schedules};
        let mut conn = self.app.sql().await;
        let workspace: Uuid = deployments::table
            .find(deployment)
            .select(deployments::workspace_id)
            .first(&mut conn)
            .await
            .expect("the deployment");
        diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(Uuid::new_v4()),
                schedules::deployment_id.eq(deployment),
                schedules::workspace_id.eq(workspace),
                schedules::created_by.eq(self.owner.id.0),
                schedules::name.eq("matrix"),
                schedules::every_seconds.eq(3600_i64),
            ))
            .returning(schedules::id)
            .get_result(&mut conn)
            .await
            .expect("creating a schedule")
    }

    /// The owner invites `email`; returns the invite's id and token.
    async fn invite(&mut self, slug: &str, email: &str) -> (String, String) {
        let (status, invite) = self
            .as_person(
                Who::Owner,
                Method::POST,
                &format!("/api/v1/teams/{slug}/invites"),
                Some(json!({ "email": email, "role": "member" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let id = invite["invite"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no invite id in {invite}"))
            .to_owned();
        let token = invite["link"]
            .as_str()
            .and_then(|link| link.rsplit('/').next())
            .expect("invite link")
            .to_owned();
        (id, token)
    }

    /// The path and body for one cell, with whatever it acts on made fresh.
    async fn prepare(
        &mut self,
        row: &Row,
        team: Option<&(Uuid, String, UserId)>,
    ) -> (String, Option<Value>) {
        let slug = team.map(|(_, slug, _)| slug.clone()).unwrap_or_default();
        let route = row.route;
        let path = route
            .replace("{team}", &slug)
            .replace("{agent}", "content-creator");
        match route {
            "/api/fn/list_agents" => (format!("{path}?query[q]="), None),
            "/api/v1/agents/{agent}/try" => (path, Some(json!({ "input": TRY_INPUT }))),
            "/api/v1/markdown" => (path, Some(json!({ "text": "# Hello" }))),
            "/api/v1/agents (in the team)" => {
                let name = self.unique("Team agent ");
                (
                    "/api/v1/agents".to_owned(),
                    Some(json!({ "name": name, "workspace": slug })),
                )
            }
            "/api/v1/deployments (in the team)" => (
                "/api/v1/deployments".to_owned(),
                Some(json!({ "agent": "analytics", "workspace": slug })),
            ),
            _ if TRIGGER_FUNCTIONS.iter().any(|f| route.starts_with(f)) => {
                self.trigger_function(row, team, &slug).await
            }
            _ if EMBED_FUNCTIONS.iter().any(|f| route.starts_with(f)) => {
                self.embed_function(row, team).await
            }
            _ if CONNECTION_FUNCTIONS.iter().any(|f| route.starts_with(f)) => {
                self.connection_function(row, team, &slug).await
            }
            _ if route.starts_with("/api/fn/") && route.contains("{team deployment}") => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let id = deployment.to_string();
                if row.method == Method::GET {
                    (route.replace("{team deployment}", &id), None)
                } else {
                    let (path, _) = route.split_once(' ').unwrap_or((route, ""));
                    let body = match path {
                        "/api/fn/change_deployment_config" => {
                            json!({ "id": id, "config": { "greeting": "hi" } })
                        }
                        "/api/fn/change_deployment_secrets" => {
                            json!({ "id": id, "changes": { "TOKEN": "x" } })
                        }
                        "/api/fn/change_deployment_spend_cap" => {
                            json!({ "id": id, "cap": { "monthly_credits": 100 } })
                        }
                        "/api/fn/start_run" => {
                            json!({ "id": id, "run": { "request": { "input": { "series": [{ "date": "2026-01-01", "value": 1 }, { "date": "2026-01-02", "value": 2 }] } } } })
                        }
                        "/api/fn/redeploy_deployment" => json!({ "id": id, "version": "1.0.0" }),
                        _ => json!({ "id": id }),
                    };
                    (path.to_owned(), Some(body))
                }
            }
            _ if route.contains("{team run}") => {
                let run = self.team_run(team.map(|(id, _, _)| *id)).await.to_string();
                let path = route.replace(" {team run}", "").replace("{team run}", &run);
                let body = (row.method == Method::POST).then(|| json!({ "id": run }));
                (path, body)
            }
            _ if route.starts_with("/api/fn/") && route != "/api/fn/get_agent" => {
                self.server_function(row, team, &slug).await
            }
            "/api/v1/connections (in the team)" => (
                format!("/api/v1/connections?workspace={slug}"),
                Some(json!({ "provider": "openai", "key": "sk-matrix-key-0001" })),
            ),
            "/api/v1/connections/authorize?workspace={team}" => (
                path,
                Some(json!({ "provider": "github", "scopes": ["repo"] })),
            ),
            _ if route.contains("{team connection}") => {
                let connection = self.connection(&slug).await;
                (route.replace("{team connection}", &connection), None)
            }
            "/api/v1/webhooks/endpoints (in the team)" => (
                "/api/v1/webhooks/endpoints".to_owned(),
                Some(json!({
                    "url": "https://hooks.example.com/agentdeck",
                    "event_types": ["run.failed"],
                    "workspace": slug,
                })),
            ),
            _ if route.contains("{team endpoint}") || route.contains("{team delivery}") => {
                let (endpoint, delivery) = self.endpoint(&slug).await;
                let path = route
                    .replace("{team endpoint}", &endpoint)
                    .replace("{team delivery}", &delivery.to_string());
                let body = match (&row.method, route) {
                    (&Method::PATCH, _) => Some(json!({ "description": "changed" })),
                    (_, r) if r.ends_with("/rotate-secret") => Some(json!({})),
                    (_, r) if r.ends_with("{team endpoint}/redeliver") => {
                        Some(json!({ "since": "2026-01-01T00:00:00Z" }))
                    }
                    _ => None,
                };
                (path, body)
            }
            "/api/v1/schedules/preview" => (
                path,
                Some(json!({ "cron": "30 2 * * *", "time_zone": "Europe/Berlin" })),
            ),
            _ if route.contains("{team hook") => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let (hook, url) = self.hook(deployment).await;
                let token = url.rsplit('/').next().expect("a token").to_owned();
                let path = route
                    .replace("{team deployment}", &deployment.to_string())
                    .replace("{team hook token}", &token)
                    .replace("{team hook}", &hook);
                let body = match (&row.method, route) {
                    (&Method::PATCH, _) => Some(json!({ "name": "renamed" })),
                    (_, r) if r.ends_with("/rotate") => Some(json!({})),
                    (_, r) if r.starts_with("/hooks/") => Some(
                        json!({ "series": [{ "date": "2026-01-01", "value": 1 }, { "date": "2026-01-02", "value": 2 }] }),
                    ),
                    _ => None,
                };
                (path, body)
            }
            _ if route.contains("{team embed}") => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let embed = self.embed(deployment).await;
                let path = route
                    .replace("{team deployment}", &deployment.to_string())
                    .replace("{team embed}", &embed);
                let body = match (&row.method, route) {
                    (&Method::PUT, _) => Some(json!({
                        "name": "renamed", "allowed_origins": ["https://shop.example.com"],
                        "input": "form",
                    })),
                    (_, r) if r.ends_with("/session") => Some(json!({
                        "visitor": "matrix-visitor-0001",
                        "page_origin": self.app.base_url,
                    })),
                    (_, r) if r.ends_with("/messages") => Some(json!({ "input": {} })),
                    _ => None,
                };
                (path, body)
            }
            _ if route.ends_with("{team deployment}/embeds") && row.method == Method::POST => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let path = route.replace("{team deployment}", &deployment.to_string());
                (
                    path,
                    Some(json!({
                        "name": "Shop", "allowed_origins": ["https://shop.example.com"],
                        "input": "form",
                    })),
                )
            }
            _ if route.ends_with("{team deployment}/hooks") && row.method == Method::POST => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let path = route.replace("{team deployment}", &deployment.to_string());
                (path, Some(json!({ "name": "Orders" })))
            }
            _ if route.contains("{team schedule}") => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let schedule = self.schedule(deployment).await;
                let path = route
                    .replace("{team deployment}", &deployment.to_string())
                    .replace("{team schedule}", &schedule.to_string());
                let body = (row.method == Method::PATCH).then(|| json!({ "enabled": false }));
                (path, body)
            }
            _ if route.ends_with("{team deployment}/schedules") && row.method == Method::POST => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let path = route.replace("{team deployment}", &deployment.to_string());
                (
                    path,
                    Some(json!({
                        "name": "Mornings",
                        "cron": "0 9 * * 1-5",
                        "time_zone": "Europe/Berlin",
                        "input": { "series": [{ "date": "2026-01-01", "value": 1 }, { "date": "2026-01-02", "value": 2 }] },
                    })),
                )
            }
            _ if route.contains("{team deployment}") => {
                let deployment = self.team_deployment(team.map(|(id, _, _)| *id)).await;
                let path = route.replace("{team deployment}", &deployment.to_string());
                let body = match (route, &row.method) {
                    (r, &Method::PUT) if r.ends_with("/spend-cap") => {
                        Some(json!({ "monthly_credits": 100 }))
                    }
                    (r, &Method::PUT) if r.contains("/connections/") => Some(
                        json!({ "connection": Uuid::new_v4(), "consented": true, "consent": [] }),
                    ),
                    (_, &Method::PUT) => Some(json!({ "TOKEN": "x" })),
                    // The launch analytics agent's input schema asks for a series.
                    (r, &Method::POST) if r.ends_with("/runs") => Some(
                        json!({ "input": { "series": [{ "date": "2026-01-01", "value": 1 }, { "date": "2026-01-02", "value": 2 }] } }),
                    ),
                    _ => None,
                };
                (path, body)
            }
            _ if route.contains("{team agent}") => {
                let agent = self.team_agent(team.map(|(id, _, _)| *id)).await;
                let path = route.replace("{team agent}", &agent);
                let body = match (route, &row.method) {
                    (_, &Method::PATCH) => Some(json!({ "visibility": "private" })),
                    (r, _) if r.ends_with("/test-runs") => Some(json!({
                        "source": "export default function run(input) { return { ok: true }; }",
                        "manifest": {},
                        "input": "{}",
                    })),
                    (r, _) if r.ends_with("/versions") => Some(json!({ "version": "1.0.0" })),
                    _ => None,
                };
                (path, body)
            }
            "/api/fn/get_agent" => (format!("{path}?slug=content-creator"), None),
            "/api/v1/auth/signup" => {
                let email = format!("{}@example.com", self.unique("newcomer"));
                let body = json!({ "email": email, "password": STRONG_PASSWORD, "name": "New" });
                (path, Some(body))
            }
            "/api/v1/auth/login" => {
                let body = json!({ "email": self.other.email, "password": STRONG_PASSWORD });
                (path, Some(body))
            }
            "/auth/github/callback" => (format!("{path}?code=abc&state=xyz"), None),
            "/api/v1/auth/password-reset" => (path, Some(json!({ "email": self.other.email }))),
            "/api/v1/auth/password-reset/complete" => {
                let body = json!({ "token": "made-up", "password": "a new passphrase for me" });
                (path, Some(body))
            }
            "/api/v1/auth/verify-email" => (path, Some(json!({ "token": "made-up" }))),
            "/api/v1/device/code" => (
                path,
                Some(json!({ "client_name": "matrix", "scopes": ["agents:read"] })),
            ),
            "/api/v1/device/token (a pending code)" => {
                let (device_code, _) = self.device_grant().await;
                let body = json!({ "device_code": device_code });
                ("/api/v1/device/token".to_owned(), Some(body))
            }
            "/api/v1/me/email" => {
                let email = format!("{}@example.com", self.unique("moving"));
                let body = json!({ "new_email": email, "password": STRONG_PASSWORD });
                (path, Some(body))
            }
            "/api/v1/me/password" => {
                let body = json!({ "current_password": "not the password", "new_password": "a new passphrase for me" });
                (path, Some(body))
            }
            "/mcp" => (
                path,
                Some(json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" })),
            ),
            "/api/v1/api-keys" => {
                let name = self.unique("made");
                (
                    path,
                    Some(json!({ "name": name, "scopes": ["agents:read"] })),
                )
            }
            "/api/v1/api-keys (in the team)" => {
                let name = self.unique("made");
                let workspace = team.map(|(id, _, _)| *id);
                let body =
                    json!({ "name": name, "scopes": ["agents:read"], "workspace": workspace });
                ("/api/v1/api-keys".to_owned(), Some(body))
            }
            "/api/v1/api-keys/{own key}" => {
                let (id, _) = self.key(Who::User, None, &["agents:read"]).await;
                (format!("/api/v1/api-keys/{id}"), None)
            }
            "/api/v1/api-keys/{own key}/spend-cap" => {
                let (id, _) = self.key(Who::User, None, &["agents:read"]).await;
                (
                    format!("/api/v1/api-keys/{id}/spend-cap"),
                    Some(json!({ "monthly_credits": 100 })),
                )
            }
            "/api/v1/billing/checkout (for the team)" => (
                "/api/v1/billing/checkout".to_owned(),
                Some(json!({ "credits": 500, "workspace": slug })),
            ),
            "/api/v1/billing/checkouts/{team checkout}" => {
                let body = json!({ "credits": 500, "workspace": slug });
                let (status, checkout) = self
                    .as_person(
                        Who::Owner,
                        Method::POST,
                        "/api/v1/billing/checkout",
                        Some(body),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{checkout}");
                let id = checkout["id"].as_str().expect("a checkout id");
                (format!("/api/v1/billing/checkouts/{id}"), None)
            }
            "/webhooks/stripe (unsigned)" => (
                "/webhooks/stripe".to_owned(),
                Some(json!({ "id": "evt_1", "type": "checkout.session.completed" })),
            ),
            "/api/v1/admin/credits" => (
                path,
                Some(json!({ "workspace": "user", "credits": 10, "reason": "Because" })),
            ),
            "/api/v1/teams" if row.method == Method::POST => {
                let name = self.unique("Made ");
                (path, Some(json!({ "name": name })))
            }
            "/api/v1/teams/{team}/invites" if row.method == Method::POST => {
                let email = format!("{}@example.com", self.unique("invitee"));
                (path, Some(json!({ "email": email, "role": "viewer" })))
            }
            "/api/v1/teams/{team}/invites/{invite}" => {
                let email = format!("{}@example.com", self.unique("invitee"));
                let (id, _) = self.invite(&slug, &email).await;
                (path.replace("{invite}", &id), None)
            }
            "/api/v1/teams/{team}/members/{member}" => {
                let target = team
                    .map(|(_, _, target)| target.to_string())
                    .unwrap_or_default();
                let body = (row.method == Method::PATCH).then(|| json!({ "role": "viewer" }));
                (path.replace("{member}", &target), body)
            }
            "/api/v1/invites/{invite to user}/accept" => {
                let email = self.user.email.clone();
                let (_, token) = self.invite(&slug, &email).await;
                (format!("/api/v1/invites/{token}/accept"), None)
            }
            _ => (path, None),
        }
    }

    /// A made checkout of the team, by its owner; its id.
    async fn team_checkout(&mut self, slug: &str) -> String {
        let body = json!({ "credits": 500, "workspace": slug });
        let (status, checkout) = self
            .as_person(
                Who::Owner,
                Method::POST,
                "/api/v1/billing/checkout",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{checkout}");
        checkout["id"].as_str().expect("a checkout id").to_owned()
    }

    /// The path and body of a server-function cell (`/api/fn/<name>`, a
    /// query for reads, the arguments as JSON for changes), with whatever
    /// it acts on made fresh.
    async fn server_function(
        &mut self,
        row: &Row,
        team: Option<&(Uuid, String, UserId)>,
        slug: &str,
    ) -> (String, Option<Value>) {
        let team_id = team.map(|(id, _, _)| *id);
        let mut route = row
            .route
            .replace("{team}", slug)
            .replace("{agent}", "content-creator");
        if route.contains("{team agent}") {
            route = route.replace("{team agent}", &self.team_agent(team_id).await);
        }
        if route.contains("{team checkout}") {
            route = route.replace("{team checkout}", &self.team_checkout(slug).await);
        }
        // What a change acts on follows its name: `/api/fn/test_run <agent>`.
        let (path, what) = route.split_once(' ').unwrap_or((&route, ""));
        if row.method == Method::GET {
            return (path.to_owned(), None);
        }
        let body = match path {
            "/api/fn/try_agent" => {
                json!({ "slug": "content-creator", "input": TRY_INPUT })
            }
            "/api/fn/write_review" => {
                json!({ "slug": "content-creator", "review": { "rating": 4, "body": "Good" } })
            }
            "/api/fn/reply_to_review" => {
                let review = json!({ "rating": 3, "body": "Fine" });
                let path = "/api/v1/agents/content-creator/reviews";
                let (status, written) = self
                    .as_person(Who::Other, Method::POST, path, Some(review))
                    .await;
                assert!(status.is_success(), "{written}");
                let reply = json!({ "body": "Thanks" });
                json!({ "slug": "content-creator", "review": written["id"], "reply": reply })
            }
            "/api/fn/render_markdown" => json!({ "text": "# Hello" }),
            "/api/fn/device_request" => json!({ "code": self.device_grant().await.1 }),
            "/api/fn/consent_request" => json!({ "id": self.consent_request().await }),
            "/api/fn/decide_consent" => {
                json!({ "decision": { "id": self.consent_request().await, "approve": true } })
            }
            "/api/fn/decide_device" => {
                let user_code = self.device_grant().await.1;
                json!({ "decision": { "user_code": user_code, "approve": true, "scopes": ["agents:read"] } })
            }
            "/api/fn/request_password_reset" => {
                json!({ "request": { "email": self.other.email } })
            }
            "/api/fn/reset_password" => {
                json!({ "request": { "token": "made-up", "password": "a new passphrase for me" } })
            }
            "/api/fn/verify_email" => json!({ "request": { "token": "made-up" } }),
            "/api/fn/change_email" => {
                let email = format!("{}@example.com", self.unique("moving"));
                json!({ "request": { "new_email": email, "password": STRONG_PASSWORD } })
            }
            "/api/fn/change_password" => json!({
                "request": { "current_password": "not the password", "new_password": "a new passphrase for me" }
            }),
            "/api/fn/sign_up" => {
                let email = format!("{}@example.com", self.unique("newcomer"));
                json!({ "request": { "email": email, "password": STRONG_PASSWORD, "name": "New" } })
            }
            "/api/fn/sign_in" => {
                json!({ "request": { "email": self.other.email, "password": STRONG_PASSWORD } })
            }
            "/api/fn/create_api_key" => {
                json!({ "request": { "name": self.unique("made"), "scopes": ["agents:read"] } })
            }
            "/api/fn/revoke_api_key" => {
                let (id, _) = self.key(Who::User, None, &["agents:read"]).await;
                json!({ "id": id })
            }
            "/api/fn/create_team" => json!({ "request": { "name": self.unique("Made ") } }),
            "/api/fn/retry_job" | "/api/fn/discard_job" => json!({ "id": 1 }),
            "/api/fn/grant_credits" => json!({
                "order": { "grant": { "workspace": "user", "credits": 10, "reason": "Because" } },
            }),
            "/api/fn/create_invite" => {
                let email = format!("{}@example.com", self.unique("invitee"));
                json!({ "slug": slug, "request": { "email": email, "role": "viewer" } })
            }
            "/api/fn/revoke_invite" => {
                let email = format!("{}@example.com", self.unique("invitee"));
                let (id, _) = self.invite(slug, &email).await;
                json!({ "slug": slug, "id": id })
            }
            "/api/fn/change_member_role" | "/api/fn/remove_member" => {
                let member = team.map(|(_, _, target)| *target);
                let mut body = json!({ "slug": slug, "member": member });
                if path == "/api/fn/change_member_role" {
                    body["role"] = json!("viewer");
                }
                body
            }
            "/api/fn/leave_team" => json!({ "slug": slug }),
            "/api/fn/accept_invite" => {
                let email = self.user.email.clone();
                let (_, token) = self.invite(slug, &email).await;
                json!({ "token": token })
            }
            "/api/fn/create_agent" => json!({
                "request": { "name": self.unique("Team agent "), "workspace": slug },
            }),
            "/api/fn/save_draft"
            | "/api/fn/test_run"
            | "/api/fn/publish_version"
            | "/api/fn/change_agent_settings"
            | "/api/fn/delete_agent" => {
                let agent = what;
                let source = "export default function run(input) { return { ok: true }; }";
                match path {
                    "/api/fn/save_draft" => json!({ "slug": agent, "changes": {
                        "revision": 1, "source": source, "manifest": {}, "readme": "",
                        "example_input": "{}", "listing": {
                            "name": agent, "summary": "made for the matrix",
                            "category": "operations", "tags": [], "icon": "",
                            "price_credits": 0,
                        },
                    } }),
                    "/api/fn/test_run" => json!({ "slug": agent, "request": {
                        "source": source, "manifest": {}, "input": "{}",
                    } }),
                    "/api/fn/publish_version" => {
                        json!({ "slug": agent, "request": { "version": "1.0.0" } })
                    }
                    "/api/fn/delete_agent" => json!({ "slug": agent }),
                    _ => json!({ "slug": agent, "settings": { "visibility": "private" } }),
                }
            }
            "/api/fn/create_deployment" => json!({
                "request": { "agent": "analytics", "workspace": slug },
            }),
            "/api/fn/start_checkout" => json!({
                "request": { "credits": 500, "workspace": slug },
            }),
            _ => json!({}),
        };
        (path.to_owned(), Some(body))
    }

    /// The credentials `who` presents for a route of `scope` on `team`.
    async fn credentials(
        &mut self,
        who: Who,
        route: &str,
        scope: Scope,
        team: Option<Uuid>,
    ) -> Credentials {
        // Keys and the expired session are the resource owner's.
        let principal = if scope == Scope::Team {
            Who::Owner
        } else {
            Who::User
        };
        let workspace = if scope == Scope::Team { team } else { None };
        match who {
            Who::Anonymous => Credentials::None,
            Who::KeyWithScope => {
                let all = [
                    "agents:read",
                    "agents:write",
                    "deployments:write",
                    "runs:read",
                    "runs:write",
                    "billing:read",
                    "audit:read",
                    "keys:write",
                    "mcp",
                    "webhooks:write",
                    "connections:write",
                ];
                Credentials::Bearer(self.key(principal, workspace, &all).await.1)
            }
            Who::KeyWithoutScope => {
                // A scope the route does not need: the billing routes need
                // `billing:read`, the rest never do.
                let billing = ["wallet", "ledger", "billing/", "usage", "checkout"]
                    .iter()
                    .any(|part| route.contains(part));
                let scope = if billing {
                    "agents:read"
                } else {
                    "billing:read"
                };
                Credentials::Bearer(self.key(principal, workspace, &[scope]).await.1)
            }
            Who::RevokedKey => {
                let (id, token) = self.key(principal, workspace, &["agents:read"]).await;
                let path = format!("/api/v1/api-keys/{id}");
                let (status, _) = self.as_person(principal, Method::DELETE, &path, None).await;
                assert_eq!(status, StatusCode::NO_CONTENT);
                Credentials::Bearer(token)
            }
            Who::ExpiredSession => {
                let user = self.person(principal).expect("principal").id;
                let (token, csrf) = self.session(user).await;
                let mut conn = self.app.sql().await;
                diesel::update(service::schema::sessions::table)
                    .filter(
                        service::schema::sessions::token_hash
                            .eq(service::auth::tokens::digest(&token)),
                    )
                    .set(
                        service::schema::sessions::expires_at
                            .eq(Utc::now() - TimeDelta::minutes(1)),
                    )
                    .execute(&mut conn)
                    .await
                    .expect("expiring a session");
                Credentials::Cookie { token, csrf }
            }
            person => {
                let user = self.person(person).expect("a person").id;
                let (token, csrf) = self.session(user).await;
                Credentials::Cookie { token, csrf }
            }
        }
    }

    async fn call(
        &self,
        method: &Method,
        path: &str,
        body: Option<Value>,
        credentials: &Credentials,
    ) -> (StatusCode, String) {
        let mut request = self.app.http.request(method.clone(), self.app.url(path));
        if *method != Method::GET {
            // A page of this origin: the browser says so.
            request = request.header(ORIGIN, &self.app.base_url);
        }
        match credentials {
            Credentials::None => {}
            Credentials::Cookie { token, csrf } => {
                request = request
                    .header(COOKIE, format!("agentdeck_session={token}"))
                    .header("x-csrf-token", csrf);
            }
            Credentials::Bearer(token) => {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// Revokes every live key, so the per-user key cap never bites.
    async fn revoke_all_keys(&self) {
        let mut conn = self.app.sql().await;
        diesel::update(api_keys::table)
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(Utc::now()))
            .execute(&mut conn)
            .await
            .expect("revoking keys");
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    let mut matrix = Matrix::new().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    matrix.app.http = http;
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in rows() {
        for (column, who) in WHO.into_iter().enumerate() {
            let team = if row.scope == Scope::Team {
                Some(matrix.team().await)
            } else {
                None
            };
            let credentials = matrix
                .credentials(
                    who,
                    row.route,
                    row.scope,
                    team.as_ref().map(|(id, _, _)| *id),
                )
                .await;
            let (path, body) = matrix.prepare(&row, team.as_ref()).await;
            let refused = row.expect[column] >= 400;
            let before = if refused && row.method != Method::GET {
                Some(fingerprint(&mut matrix.app.sql().await).await)
            } else {
                None
            };
            let (status, text) = matrix.call(&row.method, &path, body, &credentials).await;
            cells += 1;
            if status.as_u16() != row.expect[column] {
                failures.push(format!(
                    "{} {} as {who:?}: expected {}, got {status}: {}",
                    row.method,
                    row.route,
                    row.expect[column],
                    text.chars().take(200).collect::<String>()
                ));
            }
            if let Some(before) = before {
                let after = fingerprint(&mut matrix.app.sql().await).await;
                if before != after {
                    failures.push(format!(
                        "{} {} as {who:?} was refused ({status}) but changed the database",
                        row.method, row.route
                    ));
                }
            }
            matrix.revoke_all_keys().await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, rows().len() * WHO.len());
}

/// A key holding only `runs:read` reads a team's runs, their list, metrics
/// and deployments, and nothing else: it starts, cancels and stops nothing,
/// and reads neither billing nor agents.
#[tokio::test]
async fn a_runs_read_key_reads_runs_and_changes_nothing() {
    let mut matrix = Matrix::new().await;
    let cases: [(Method, &'static str, u16); 12] = [
        (Method::GET, "/api/v1/runs/{team run}", 200),
        (Method::GET, "/api/fn/get_run?id={team run}", 200),
        (
            Method::GET,
            "/api/v1/deployments/{team deployment}/runs",
            200,
        ),
        (Method::GET, "/api/fn/list_runs?id={team deployment}", 200),
        (
            Method::GET,
            "/api/v1/deployments/{team deployment}/metrics?minutes=60",
            200,
        ),
        (
            Method::GET,
            "/api/fn/get_deployment?id={team deployment}",
            200,
        ),
        (
            Method::POST,
            "/api/v1/deployments/{team deployment}/runs",
            403,
        ),
        (Method::POST, "/api/fn/cancel_run {team run}", 403),
        (
            Method::POST,
            "/api/fn/stop_deployment {team deployment}",
            403,
        ),
        (Method::GET, "/api/v1/wallet?workspace={team}", 403),
        (Method::GET, "/api/v1/agents", 403),
        (Method::GET, "/api/v1/teams/{team}/audit", 403),
    ];
    let mut failures = Vec::new();
    for (method, route, expected) in cases {
        let row = Row {
            method: method.clone(),
            route,
            scope: Scope::Team,
            expect: [expected; 11],
        };
        let team = matrix.team().await;
        let (_, token) = matrix.key(Who::Owner, Some(team.0), &["runs:read"]).await;
        let (path, body) = matrix.prepare(&row, Some(&team)).await;
        let before = fingerprint(&mut matrix.app.sql().await).await;
        let (status, text) = matrix
            .call(&method, &path, body, &Credentials::Bearer(token))
            .await;
        if status.as_u16() != expected {
            failures.push(format!(
                "{method} {route}: expected {expected}, got {status}: {text}"
            ));
        }
        if expected >= 400 && before != fingerprint(&mut matrix.app.sql().await).await {
            failures.push(format!(
                "{method} {route} was refused but changed the database"
            ));
        }
        matrix.revoke_all_keys().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every server function has a row above: one added without a row fails
/// here. (REST routes are listed by hand; the router cannot be read back.)
#[test]
fn every_server_function_has_a_row() {
    let rows = rows();
    let named = |path: &str| {
        rows.iter()
            .any(|row| row.route.split([' ', '?']).next() == Some(path))
    };
    let missing: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .filter(|path| !named(path))
        .collect();
    assert!(
        missing.is_empty(),
        "server functions without an access-matrix row: {missing:?}"
    );
}

/// The matrix's statuses say "refused"; this checks that what was refused
/// is really out of reach: another user's key list, sessions and teams do
/// not show, and a key for one workspace does not open another.
#[tokio::test]
async fn nobody_sees_another_users_keys_sessions_or_teams() {
    let mut matrix = Matrix::new().await;
    let (_, user_key) = matrix.key(Who::User, None, &["agents:read"]).await;
    let (team, slug, _) = matrix.team().await;
    let (_, team_key) = matrix.key(Who::Owner, Some(team), &["audit:read"]).await;
    let (_, personal_key) = matrix.key(Who::Owner, None, &["audit:read"]).await;

    let app = &matrix.app;
    let (_, keys) = matrix.other.browser.get("/api/v1/api-keys").await;
    assert_eq!(keys, json!([]), "another user's keys leaked");
    let (_, own_sessions) = matrix.other.browser.get("/api/v1/sessions").await;
    assert_eq!(
        own_sessions.as_array().map(Vec::len),
        Some(1),
        "{own_sessions}"
    );
    let (_, teams) = matrix.other.browser.get("/api/v1/teams").await;
    assert_eq!(teams, json!([]), "someone else's team is listed");
    let _ = user_key;

    let audit = format!("/api/v1/teams/{slug}/audit");
    let as_key = |token: String| {
        let request = app.http.get(app.url(&audit));
        async move {
            request
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .send()
                .await
                .expect("reading the audit log")
                .status()
        }
    };
    assert_eq!(as_key(team_key).await, StatusCode::OK);
    assert_eq!(
        as_key(personal_key).await,
        StatusCode::NOT_FOUND,
        "a key for the owner's personal workspace opened the team"
    );
}
