//! The API's OpenAPI 3.1 document, made from the router itself.
//!
//! Every handler carries a `#[utoipa::path]` annotation and is routed with
//! `utoipa_axum::routes!` (router.rs), which takes the path from the
//! annotation: a route and its operation are one entry, so neither exists
//! without the other. `clippy.toml` forbids the ways around it
//! (`Router::route` and friends) outside two helpers here: the server
//! functions, which describe themselves, and the few routes that are no
//! operation (`exempt`).
//!
//! What every operation shares is added once, after the router is built
//! (`finish`): the errors any call can meet, and the session alternative
//! beside a bearer key. Annotations state only what is particular to their
//! operation: success answers, particular errors (402, 409), and the
//! bearer scope.

use axum::http::Method;
use axum::routing::{MethodFilter, any, on, on_service};
use serde_json::{Map, Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, request_body};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::api::{not_found, server_fns};
use crate::state::AppState;

/// The document before the router adds its operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agentdeck API",
        description = "Publish, deploy and run AI agents. Authenticate with an API key as a \
            bearer token (`Authorization: Bearer adk_…`, made in Settings → API keys, each \
            holding scopes) or, from the browser app, with the session cookie plus the \
            `x-csrf-token` header on every request that changes something. Errors are \
            `{\"error\": {\"code\", \"message\", \"field\"?, \"request_id\"?, \"problems\"?}}`; \
            a 429 carries `Retry-After` in seconds.",
        version = "1",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only"),
    ),
    servers((url = "/", description = "This server")),
    // Besides what bodies name: what only parameters name (utoipa collects
    // no schemas from parameters).
    components(schemas(
        types::error::ErrorEnvelope,
        types::market::AgentSort,
        types::deploy::RunStatus
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "agents", description = "The marketplace: agents, versions, reviews, trying"),
        (name = "authoring", description = "Writing agents: drafts, templates, test runs, publishing"),
        (name = "deployments", description = "Deployments of agents and their settings"),
        (name = "triggers", description = "Deployments run by the clock and by other systems: \
            schedules (cron expressions in time zones, or intervals) and inbound webhook URLs"),
        (name = "embeds", description = "Web embeds of deployments: a chat bubble or a form on \
            other websites, locked to the origins their owner allows"),
        (name = "embed", description = "An embed's visitor (no account): the frame page, its \
            session and messages (called by `embed.js` and its frame)"),
        (name = "connections", description = "A workspace's accounts at other services, \
            from the provider catalogue: connecting (a provider's sign-in, or a key), listing, \
            disconnecting. Credentials are never answered"),
        (name = "runs", description = "Runs of deployments: starting, reading, cancelling"),
        (name = "auth", description = "Accounts, sessions, API keys"),
        (name = "teams", description = "Teams, members, invites and the audit log"),
        (name = "billing", description = "Credits, the ledger, usage and checkout"),
        (name = "admin", description = "Platform administration (admins only)"),
        (name = "live", description = "Live events over a WebSocket"),
        (name = "public", description = "Health, sharing and search engines"),
        (name = "webhooks", description = "Calls from other services"),
        (name = "outgoing-webhooks", description = "A workspace's events posted to its \
            endpoints, signed per the Standard Webhooks specification; the delivery log"),
        (name = "mcp", description = "The Model Context Protocol server: the workspace's \
            running deployments as tools for AI clients (JSON-RPC over Streamable HTTP)"),
        (name = "server-fn", description = "The browser app's server functions (internal; \
            their bodies are the app's own codec)"),
    )
)]
pub struct ApiDoc;

/// Security scheme names, as annotations write them.
pub const BEARER: &str = "bearer";
pub const SESSION: &str = "session";
pub const CSRF: &str = "csrf";
pub const VISITOR: &str = "visitor";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scopes = types::account::Scope::ALL
            .iter()
            .map(|scope| format!("`{}`", scope.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(format!(
                        "An API key (`adk_…`). Each operation lists the scope its key must \
                         hold, one of {scopes}; a key belongs to one workspace."
                    )))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "agentdeck_session",
                "The browser app's session (`__Host-agentdeck_session` over HTTPS). It holds \
                 every scope.",
            ))),
        );
        components.add_security_scheme(
            VISITOR,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An embed visitor's token (`evt_…`), from `POST /embed/{embed}/session`; \
                         it lasts an hour and names one embed and one visitor."
                            .to_owned(),
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::auth::CSRF_HEADER,
                "The session's CSRF token (from `GET /api/v1/me` or the sign-in answer), \
                 required with the session cookie on every method but GET, HEAD and OPTIONS.",
            ))),
        );
    }
}

/// The shared error answers, by name in `components.responses`.
const ERRORS: [(&str, &str, &str); 10] = [
    (
        "400",
        "BadRequest",
        "The request cannot be read (a bad signature, a malformed body).",
    ),
    (
        "401",
        "Unauthenticated",
        "No valid session or API key: sign in, or send a valid key.",
    ),
    (
        "402",
        "PaymentRequired",
        "Too few credits, or a monthly spend cap is reached.",
    ),
    (
        "403",
        "Forbidden",
        "Signed in, but not allowed: a missing scope or role, a missing CSRF token, an unverified email.",
    ),
    (
        "404",
        "NotFound",
        "Nothing by that name, or nothing the caller may see.",
    ),
    (
        "409",
        "Conflict",
        "The request conflicts with the current state (a taken name, a stale version).",
    ),
    (
        "422",
        "Unprocessable",
        "A parameter or the body is invalid; `field` names it, `problems` lists each JSON path at fault.",
    ),
    (
        "429",
        "RateLimited",
        "Too many requests; `Retry-After` says how many seconds to wait.",
    ),
    (
        "500",
        "ServerError",
        "An internal error; quote the `request_id`.",
    ),
    (
        "503",
        "Unavailable",
        "The database or a provider is unavailable; try again.",
    ),
];

/// The finished document as JSON: shared error answers added to every
/// operation, and the session alternative beside each bearer requirement.
pub fn finish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    let responses = doc
        .pointer_mut("/components")
        .and_then(Value::as_object_mut)
        .map(|components| {
            components
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let mut responses = responses;
    for (status, name, description) in ERRORS {
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } },
        });
        if status == "429" {
            response["headers"] = json!({
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": { "type": "integer", "minimum": 1 },
                }
            });
        }
        responses.insert(name.to_owned(), response);
    }
    doc["components"]["responses"] = Value::Object(responses);
    if let Some(paths) = doc.pointer_mut("/paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                if let Some(operation) = operation.as_object_mut() {
                    complete(path, &method, operation);
                }
            }
        }
    }
    doc
}

/// One operation: the errors it can meet by where it is and what it takes,
/// and its security with the session beside the key.
fn complete(path: &str, method: &Method, operation: &mut Map<String, Value>) {
    let api = path.starts_with("/api/");
    let has_params = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|params| !params.is_empty());
    let has_body = operation.contains_key("requestBody");
    let mut shared = vec!["429", "500", "503"];
    if api {
        // The authentication middleware answers these on every API path:
        // a bad key (401), a cross-site or CSRF-less mutation (403).
        shared.extend(["401", "403"]);
    }
    if path.contains('{') {
        shared.push("404");
    }
    if has_params || has_body {
        shared.push("422");
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(responses) = responses {
        for status in shared {
            if !responses.contains_key(status) {
                let name = ERRORS
                    .iter()
                    .find(|(code, _, _)| *code == status)
                    .map(|(_, name, _)| *name)
                    .unwrap_or("ServerError");
                responses.insert(
                    status.to_owned(),
                    json!({ "$ref": format!("#/components/responses/{name}") }),
                );
            }
        }
    }
    let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) else {
        return;
    };
    let unsafe_method = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    // Only the API takes the session beside a key (`/mcp` takes a bearer
    // token alone).
    let wants_session = api
        && security
            .iter()
            .any(|requirement| requirement.get(BEARER).is_some())
        && !security
            .iter()
            .any(|requirement| requirement.get(SESSION).is_some());
    if wants_session {
        security.push(json!({ SESSION: [] }));
    }
    if unsafe_method {
        for requirement in security.iter_mut() {
            if let Some(requirement) = requirement.as_object_mut()
                && requirement.contains_key(SESSION)
            {
                requirement.insert(CSRF.to_owned(), json!([]));
            }
        }
    }
}

/// The paths that are routed but are no operation: the JSON 404 of every
/// unknown API path. (The SPA's pages are the router's fallback.)
pub const EXEMPT: [&str; 2] = ["/api", "/api/{*rest}"];

/// Routes `EXEMPT`: unknown API paths answer a JSON 404, never the SPA page.
#[expect(
    clippy::disallowed_methods,
    reason = "the catch-alls are no operation of the API"
)]
pub fn exempt(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    EXEMPT.iter().fold(router, |router, path| {
        router.route(path, any(not_found::api_not_found))
    })
}

/// One route and one operation per registered server function, so an
/// unknown name is the usual JSON 404 and a wrong method the usual JSON 405.
/// Their bodies are the browser app's own codec, described as any JSON.
#[expect(
    clippy::disallowed_methods,
    reason = "server functions register themselves; each gets its operation here"
)]
pub fn server_functions(mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let (Ok(filter), Some(http_method)) =
            (MethodFilter::try_from(method.clone()), http_method(&method))
        else {
            tracing::error!(path, %method, "server function with an unroutable method");
            continue;
        };
        router = router.route(path, on(filter, server_fns::handle));
        let name = path.trim_start_matches("/api/fn/").replace(['/', '-'], "_");
        let any_json = || {
            ContentBuilder::new()
                .schema(Some(RefOr::T(ObjectBuilder::new().into())))
                .build()
        };
        let mut operation = OperationBuilder::new()
            .tag("server-fn")
            .operation_id(Some(format!("server_fn_{name}")))
            .summary(Some(format!("Server function {name}")))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The function's answer")
                    .content("application/json", any_json())
                    .build(),
            )
            .security(SecurityRequirement::default())
            .security(SecurityRequirement::new::<_, [&str; 0], &str>(SESSION, []));
        if http_method != HttpMethod::Get {
            operation = operation.request_body(Some(
                request_body::RequestBodyBuilder::new()
                    .content("application/json", any_json())
                    .build(),
            ));
        }
        router.get_openapi_mut().paths.add_path_operation(
            path,
            vec![http_method],
            operation.build(),
        );
    }
    router
}

/// Routes `/mcp` (the MCP server, `crate::mcp`) behind its bearer check,
/// for the methods the Streamable HTTP transport uses, and describes them:
/// their bodies are JSON-RPC messages, described by the MCP specification.
#[expect(
    clippy::disallowed_methods,
    reason = "the MCP transport is one service; its three operations are added here"
)]
pub fn mcp(router: OpenApiRouter<AppState>, state: &AppState) -> OpenApiRouter<AppState> {
    let filter = MethodFilter::GET
        .or(MethodFilter::POST)
        .or(MethodFilter::DELETE);
    let service = on_service(filter, crate::mcp::service(state)).layer(
        axum::middleware::from_fn_with_state(state.clone(), crate::mcp::auth::bearer),
    );
    let mut router = router.route("/mcp", service);
    let json = |description: &str| {
        ContentBuilder::new()
            .schema(Some(RefOr::T(
                ObjectBuilder::new().description(Some(description)).into(),
            )))
            .build()
    };
    let refused = |builder: ResponseBuilder, status: &str| {
        let name = ERRORS
            .iter()
            .find(|(code, _, _)| *code == status)
            .map_or("ServerError", |(_, name, _)| *name);
        builder
            .description(format!(
                "See components.responses.{name}; carries `WWW-Authenticate: Bearer \
                 resource_metadata=…` (RFC 9728)"
            ))
            .content("application/json", json("An error envelope"))
            .build()
    };
    let bearer = || SecurityRequirement::new(BEARER, ["mcp"]);
    let operations = [
        (
            HttpMethod::Post,
            "mcp_message",
            "Send an MCP message",
            "One JSON-RPC request, notification or response of the Model Context Protocol \
             (2025-06-18 or 2025-11-25). `initialize` opens a session, named by the \
             `Mcp-Session-Id` answer header, which later messages send back. Requests are \
             answered as a `text/event-stream` (progress notifications, then the result); \
             notifications and responses with 202. Tools: `tools/list` names the workspace's \
             running deployments, `tools/call` runs one.",
        ),
        (
            HttpMethod::Get,
            "mcp_stream",
            "Listen to a session",
            "The session's own `text/event-stream`: `notifications/tools/list_changed` when a \
             deployment of the workspace starts or stops.",
        ),
        (
            HttpMethod::Delete,
            "mcp_end_session",
            "End a session",
            "Ends the session named by `Mcp-Session-Id`.",
        ),
    ];
    for (method, id, summary, description) in operations {
        let mut operation = OperationBuilder::new()
            .tag("mcp")
            .operation_id(Some(id))
            .summary(Some(summary))
            .description(Some(description))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The answer: JSON-RPC over `text/event-stream`, or JSON")
                    .content(
                        "text/event-stream",
                        json("Server-sent events, each a JSON-RPC message"),
                    )
                    .content("application/json", json("A JSON-RPC message"))
                    .build(),
            )
            .response("401", refused(ResponseBuilder::new(), "401"))
            .response("403", refused(ResponseBuilder::new(), "403"))
            .response(
                "404",
                ResponseBuilder::new()
                    .description("No such session (it ended, or another key opened it)")
                    .build(),
            )
            .security(bearer());
        if method == HttpMethod::Delete {
            operation = operation.response(
                "202",
                ResponseBuilder::new()
                    .description("The session ended")
                    .build(),
            );
        }
        if method == HttpMethod::Post {
            operation = operation
                .request_body(Some(
                    request_body::RequestBodyBuilder::new()
                        .content("application/json", json("A JSON-RPC message"))
                        .required(Some(utoipa::openapi::Required::True))
                        .build(),
                ))
                .response(
                    "202",
                    ResponseBuilder::new()
                        .description("A notification or response, accepted")
                        .build(),
                );
        }
        router
            .get_openapi_mut()
            .paths
            .add_path_operation("/mcp", vec![method], operation.build());
    }
    router
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => return None,
    })
}
