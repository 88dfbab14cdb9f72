//! Every running deployment an MCP tool: the Model Context Protocol server
//! at `/mcp`, over the Streamable HTTP transport (protocol 2025-06-18 and
//! 2025-11-25, with sessions), through the official Rust SDK (`rmcp`).
//!
//! `auth` puts the caller (an API key holding `mcp`) on every request
//! before rmcp sees it; the handler here lists the caller's workspace's
//! running deployments as tools (`service::mcp`) and calls one as a run
//! (`trigger = mcp`), reporting the run's status changes as progress and
//! answering its output as structured content. `sessions` keeps the
//! sessions' lines for `notifications/tools/list_changed`.

pub mod auth;
pub mod sessions;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::Value;
use service::ServiceError;
use service::auth::{Actor, Caller};
use types::deploy::{Run, RunStatus};
use uuid::Uuid;

use crate::live::hub::Delivery;
use crate::state::AppState;

/// The largest JSON-RPC message taken (a run's input is at most 1 MiB).
const MAX_BODY_BYTES: usize = 2 << 20;
/// How often a call looks at its run when no event came (events from the
/// hub wake it at once).
const LOOK_EVERY: Duration = Duration::from_secs(10);
/// How often a long call reports that its run still goes (clients that
/// reset their timeout on progress wait on).
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The service mounted at `/mcp`.
pub fn service(state: &AppState) -> StreamableHttpService<Handler, LocalSessionManager> {
    let public = state.services.public_url.trim_end_matches('/').to_owned();
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut origins = vec![
        "http://localhost:*".to_owned(),
        "http://127.0.0.1:*".to_owned(),
    ];
    if let Some(host) = authority(&public) {
        hosts.push(host);
        origins.push(public.clone());
    }
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(state.mcp.stopping());
    let factory_state = state.clone();
    StreamableHttpService::new(
        move || Ok(Handler::new(factory_state.clone())),
        state.mcp.manager(),
        config,
    )
}

/// The host (with its port, when it has one) of a URL.
fn authority(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty()).then(|| authority.to_owned())
}

/// One session's handler (rmcp makes one per session, and per request of
/// stateless protocol versions).
#[derive(Clone)]
pub struct Handler {
    state: AppState,
    /// The key the session belongs to: the first request's. A request of
    /// another caller on this session is refused (a session id is no
    /// credential).
    owner: Arc<OnceLock<Uuid>>,
}

impl Handler {
    fn new(state: AppState) -> Self {
        Self {
            state,
            owner: Arc::new(OnceLock::new()),
        }
    }

    /// The caller the middleware found, held to the session's owner, and
    /// the session (every request but `initialize` is in one).
    fn caller(&self, extensions: &rmcp::model::Extensions) -> Result<(Actor, String), McpError> {
        let parts = extensions
            .get::<axum::http::request::Parts>()
            .ok_or_else(|| McpError::internal_error("an MCP request without its caller", None))?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or_else(|| McpError::internal_error("an MCP request without its caller", None))?;
        let session = parts
            .headers
            .get("mcp-session-id")
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                McpError::invalid_request("open a session with initialize first", None)
            })?;
        let key = caller
            .actor
            .key_id()
            .ok_or_else(|| McpError::invalid_request("MCP takes a bearer token", None))?;
        if *self.owner.get_or_init(|| key.0) != key.0 {
            return Err(McpError::invalid_request(
                "this session belongs to another key",
                None,
            ));
        }
        Ok((caller.actor.clone(), session))
    }
}

/// Whether a JSON value holds the NUL character (which `jsonb` cannot).
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A service refusal as a message for the calling model.
fn refusal(error: &ServiceError) -> String {
    match error {
        ServiceError::Internal(_) | ServiceError::Unavailable(_) => {
            tracing::error!(%error, "an MCP call could not start its run");
            "the server could not start the run; try again".to_owned()
        }
        ServiceError::InvalidInput(violations) => format!(
            "the arguments do not meet the tool's input schema: {}",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => other.to_string(),
    }
}

fn failed(error: &ServiceError) -> McpError {
    match error {
        ServiceError::NotFound { .. } => McpError::invalid_params(error.to_string(), None),
        ServiceError::Forbidden(_)
        | ServiceError::InvalidApiKey
        | ServiceError::Unauthenticated => McpError::invalid_request(error.to_string(), None),
        _ => {
            tracing::error!(%error, "an MCP request failed");
            McpError::internal_error("the server could not answer; try again", None)
        }
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(
            Implementation::new("agentdeck", env!("CARGO_PKG_VERSION")).with_title("Agentdeck"),
        )
        .with_instructions(
            "Each tool is a running deployment of this Agentdeck workspace; calling it starts \
             a run, charged like any run, and answers the run's output.",
        )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Owned(vec![
            ProtocolVersion::V_2025_06_18,
            ProtocolVersion::V_2025_11_25,
        ])
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Ok((_, session)) = self.caller(&context.extensions) {
            self.state.mcp.attach(&session, context.peer);
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let (actor, _) = self.caller(&context.extensions)?;
        let tools = service::mcp::tools(&self.state.services, &actor)
            .await
            .map_err(|error| failed(&error))?;
        Ok(ListToolsResult::with_all_items(
            tools.iter().map(as_tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let (actor, session) = self.caller(&context.extensions)?;
        let key = actor.key_id().map(|key| key.0).unwrap_or_default();
        let Some(_slot) = self.state.mcp.call_slot(key) else {
            return Err(McpError::invalid_request(
                format!(
                    "this key has {} tool calls in flight, the most it may; wait for one to end",
                    sessions::CALLS_PER_KEY
                ),
                None,
            ));
        };
        let tool = match service::mcp::find(&self.state.services, &actor, &request.name).await {
            Ok(tool) => tool,
            Err(ServiceError::NotFound { .. }) => {
                return Err(McpError::invalid_params(
                    format!(
                        "Unknown tool: {} (tools/list names this workspace's running deployments)",
                        request.name
                    ),
                    None,
                ));
            }
            Err(error) => return Err(failed(&error)),
        };
        let arguments = request.arguments.unwrap_or_default();
        if arguments
            .iter()
            .any(|(name, value)| name.contains('\0') || has_nul(value))
        {
            return Err(McpError::invalid_params(
                "arguments: text may not contain the NUL character (U+0000)",
                None,
            ));
        }
        let run = match service::mcp::call(&self.state.services, &actor, &tool, arguments).await {
            Ok(run) => run,
            Err(error @ (ServiceError::NotFound { .. } | ServiceError::Forbidden(_))) => {
                return Err(failed(&error));
            }
            Err(error) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(refusal(&error))]).into());
            }
        };
        let progress = Progress {
            token: context.meta.get_progress_token(),
            peer: context.peer.clone(),
            sent: None,
        };
        let finished = tokio::select! {
            finished = self.follow(&actor, run.summary.id, progress) => finished,
            () = context.ct.cancelled() => {
                // The client cancelled the call (its session goes on): so is
                // the run. A session that idled out or a server that stops
                // leaves the run to finish, as an asynchronous run would.
                if !self.state.mcp.is_stopping() && self.state.mcp.exists(&session).await
                    && let Err(error) = service::mcp::cancel(&self.state.services, &actor, run.summary.id).await
                {
                    tracing::warn!(%error, run = %run.summary.id, "cancelling a run whose MCP call was cancelled");
                }
                return Err(McpError::internal_error("the call was cancelled", None));
            }
        };
        let run = finished.map_err(|error| failed(&error))?;
        Ok(answer(&tool, &run).into())
    }
}

/// The progress notifications of one call: each status the run reaches,
/// and a heartbeat while it runs. Values always increase (0 queued, 10
/// running, towards 90 while it runs, 100 finished, of 100).
struct Progress {
    token: Option<ProgressToken>,
    peer: rmcp::service::Peer<RoleServer>,
    /// The last value sent (values must increase).
    sent: Option<f64>,
}

impl Progress {
    async fn report(&mut self, value: f64, message: &str) {
        let Some(token) = &self.token else {
            return;
        };
        if self.sent.is_some_and(|sent| value <= sent) {
            return;
        }
        self.sent = Some(value);
        let note = ProgressNotificationParam::new(token.clone(), value)
            .with_total(100.0)
            .with_message(message);
        if let Err(error) = self.peer.notify_progress(note).await {
            tracing::debug!(%error, "a progress notification was not sent");
        }
    }
}

impl Handler {
    /// Follows run `id` to its end, reporting its steps.
    async fn follow(
        &self,
        actor: &Actor,
        id: Uuid,
        mut progress: Progress,
    ) -> Result<Run, ServiceError> {
        let mut deliveries = self
            .state
            .hub
            .subscribe(&types::topic::Topic::Run(types::RunId(id)).to_string());
        progress.report(0.0, "queued").await;
        let mut running = false;
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            let run = service::mcp::run(&self.state.services, actor, id).await?;
            let status = run.summary.status;
            if status != RunStatus::Queued && !running {
                running = true;
                progress.report(10.0, "running").await;
            }
            if !matches!(status, RunStatus::Queued | RunStatus::Running) {
                progress.report(100.0, status.as_str()).await;
                return Ok(run);
            }
            tokio::select! {
                delivery = deliveries.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = delivery {
                        deliveries = self.state.hub.subscribe(&types::topic::Topic::Run(types::RunId(id)).to_string());
                    }
                    let _: Option<Delivery> = delivery.ok();
                }
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = heartbeat.tick() => {
                    // Still going: nearer, never reaching, the next step.
                    let (cap, message) = if running { (90.0, "running") } else { (9.0, "queued") };
                    let sent = progress.sent.unwrap_or(0.0);
                    let next = sent + (cap - sent) / 4.0;
                    progress.report(next, message).await;
                }
            }
        }
    }
}

/// A tool as MCP clients see it.
fn as_tool(tool: &service::mcp::Tool) -> Tool {
    let mut out = Tool::new(
        tool.name.clone(),
        tool.description.clone(),
        Arc::new(tool.input_schema.clone()),
    )
    .with_title(tool.title.clone());
    if let Some(schema) = &tool.output_schema {
        out = out.with_raw_output_schema(Arc::new(schema.clone()));
    }
    out
}

/// A finished run as the call's result: its output (structured where the
/// tool says so), or its error with `isError`.
fn answer(tool: &service::mcp::Tool, run: &Run) -> CallToolResult {
    let output = run.output.clone().unwrap_or(Value::Null);
    if run.summary.status != RunStatus::Succeeded {
        let reason = run.summary.error.as_ref().map_or_else(
            || format!("the run ended {}", run.summary.status.as_str()),
            |error| {
                format!(
                    "the run ended {}: {} ({})",
                    run.summary.status.as_str(),
                    error.message,
                    error.code
                )
            },
        );
        return CallToolResult::error(vec![ContentBlock::text(reason)]);
    }
    let problems = tool.output_problems(&output);
    if !problems.is_empty() {
        return CallToolResult::error(vec![ContentBlock::text(format!(
            "the run's output does not meet the tool's output schema: {}",
            problems.join("; ")
        ))]);
    }
    let text = match &output {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = tool.structured(&output);
    result
}
