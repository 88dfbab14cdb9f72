//! The host side of the agent world: what a run's store holds and how each
//! capability call is checked and served.

use crate::call_error::CallError;
use crate::connections::{self, ConnectionBroker};
use crate::http::{self, Fetcher};
use crate::kv::{self, KvStore};
use crate::limits::{Capabilities, Limits};
use crate::llm::{self, LlmMeter, LlmProvider, Tokens, Usage};
use crate::outcome::{Level, LogLine};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::wasi_io::{CappedOutput, MillisecondMonotonicClock, MillisecondWallClock};

pub(crate) mod bindings {
    /// The `agent` world: what every agent component implements.
    pub mod agent {
        wasmtime::component::bindgen!({
            world: "agent",
            path: "../agents/wit",
            imports: { default: async },
            exports: { default: async },
        });
    }

    /// The `js-runner` world: the agent world plus the script it runs.
    pub mod runner {
        wasmtime::component::bindgen!({
            world: "js-runner",
            path: "../agents/wit",
            imports: { default: async },
            exports: { default: async },
            with: {
                "agentdeck:agent/types": super::agent::agentdeck::agent::types,
                "agentdeck:agent/log": super::agent::agentdeck::agent::log,
                "agentdeck:agent/llm": super::agent::agentdeck::agent::llm,
                "agentdeck:agent/http": super::agent::agentdeck::agent::http,
                "agentdeck:agent/kv": super::agent::agentdeck::agent::kv,
                "agentdeck:agent/config": super::agent::agentdeck::agent::config,
                "agentdeck:agent/trigger": super::agent::agentdeck::agent::trigger,
                "agentdeck:agent/conversation": super::agent::agentdeck::agent::conversation,
                "agentdeck:agent/connections": super::agent::agentdeck::agent::connections,
            },
        });
    }
}

use bindings::agent::agentdeck::agent as wit;
use wit::types::CapabilityError;

/// What the host gives one run: its grants and the services behind them.
#[derive(Clone)]
pub struct HostContext {
    pub capabilities: Arc<Capabilities>,
    /// The deployment's key-value store; `None` denies `kv` whatever the
    /// manifest says.
    pub kv: Option<Arc<dyn KvStore>>,
    pub llm: Arc<dyn LlmProvider>,
    /// Prices and pays for model calls; `None` meters nothing (the local
    /// runner, tests of the sandbox).
    pub llm_meter: Option<Arc<dyn LlmMeter>>,
    pub http: Fetcher,
    pub config: Arc<BTreeMap<String, String>>,
    pub secrets: Arc<BTreeMap<String, String>>,
    /// What started the run, for `trigger.get` (the agent's `ctx.trigger`).
    pub trigger: Arc<Trigger>,
    /// The conversation's earlier messages, oldest first, for
    /// `conversation.history` (the agent's `ctx.conversation`); empty
    /// outside a conversation.
    pub conversation: Arc<[ConversationMessage]>,
    /// The deployment's bound connections, for `connections.fetch` (the
    /// agent's `ctx.connections`); `None` denies them whatever the manifest
    /// says.
    pub connections: Option<Arc<dyn ConnectionBroker>>,
}

/// What started a run, as the agent reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// `ui`, `api`, `mcp`, `schedule`, `webhook` or `test`.
    pub kind: String,
    /// RFC 3339.
    pub at: String,
    /// JSON text: an object.
    pub details: String,
}

impl Default for Trigger {
    fn default() -> Self {
        Self {
            kind: "test".to_owned(),
            at: String::new(),
            details: "{}".to_owned(),
        }
    }
}

/// One earlier message of the conversation a run answers in, as the agent
/// reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationMessage {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    /// When it was said (RFC 3339).
    pub at: String,
}

impl HostContext {
    /// Nothing granted, the offline model behind `llm`.
    pub fn new(capabilities: Capabilities) -> Self {
        Self {
            capabilities: Arc::new(capabilities),
            kv: None,
            llm: Arc::new(llm::Offline),
            llm_meter: None,
            http: Fetcher::default(),
            config: Arc::default(),
            secrets: Arc::default(),
            trigger: Arc::default(),
            conversation: Arc::default(),
            connections: None,
        }
    }

    pub fn with_trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = Arc::new(trigger);
        self
    }

    /// The conversation's earlier messages, oldest first (the caller bounds
    /// them; the message the run answers is its input, not one of these).
    pub fn with_conversation(mut self, history: Vec<ConversationMessage>) -> Self {
        self.conversation = history.into();
        self
    }

    pub fn with_kv(mut self, store: Arc<dyn KvStore>) -> Self {
        self.kv = Some(store);
        self
    }

    pub fn with_llm(mut self, provider: Arc<dyn LlmProvider>) -> Self {
        self.llm = provider;
        self
    }

    pub fn with_llm_meter(mut self, meter: Arc<dyn LlmMeter>) -> Self {
        self.llm_meter = Some(meter);
        self
    }

    pub fn with_http(mut self, fetcher: Fetcher) -> Self {
        self.http = fetcher;
        self
    }

    pub fn with_config(mut self, values: BTreeMap<String, String>) -> Self {
        self.config = Arc::new(values);
        self
    }

    pub fn with_secrets(mut self, values: BTreeMap<String, String>) -> Self {
        self.secrets = Arc::new(values);
        self
    }

    pub fn with_connections(mut self, broker: Arc<dyn ConnectionBroker>) -> Self {
        self.connections = Some(broker);
        self
    }
}

/// A JavaScript agent's script, handed to the runner through `script`.
#[derive(Debug)]
pub(crate) struct Script {
    pub name: String,
    pub source: String,
}

/// Everything a run's store holds.
pub(crate) struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub meter: Meter,
    pub log: LogBuffer,
    pub stdout: CappedOutput,
    pub stderr: CappedOutput,
    host: HostContext,
    script: Option<Arc<Script>>,
    response_bytes: u64,
    /// The model calls and tokens this run may use, and has used.
    llm_calls_limit: u64,
    llm_tokens_limit: u64,
    pub llm_used: Usage,
}

impl RunState {
    pub fn new(
        limits: &Limits,
        host: HostContext,
        script: Option<Arc<Script>>,
        started: Instant,
    ) -> Self {
        let capacity = usize::try_from(limits.log_bytes).unwrap_or(usize::MAX);
        let stdout = CappedOutput::new(capacity);
        let stderr = CappedOutput::new(capacity);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(MillisecondWallClock)
            .monotonic_clock(MillisecondMonotonicClock { start: started })
            // Hash tables inside the agent are seeded with this; a fixed seed
            // keeps metering deterministic.
            .insecure_random_seed(0x6167_656e_7464_6563_6b00_0000_0000_0001)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .max_random_size(64 << 10)
            .build();
        let mut table = ResourceTable::new();
        // Handles (streams, pollables) a run may hold at once.
        table.set_max_capacity(10_000);
        Self {
            wasi,
            table,
            meter: Meter::new(limits.memory_bytes),
            log: LogBuffer::new(limits.log_bytes, started),
            stdout,
            stderr,
            host,
            script,
            response_bytes: limits.response_bytes,
            llm_calls_limit: limits.llm_calls,
            llm_tokens_limit: limits.llm_tokens,
            llm_used: Usage::default(),
        }
    }

    /// Moves what the agent wrote to standard output and error into the log.
    pub fn collect_stdio(&mut self) {
        for (pipe, level) in [(&self.stdout, Level::Info), (&self.stderr, Level::Error)] {
            let (bytes, cut) = pipe.take();
            for line in String::from_utf8_lossy(&bytes).lines() {
                self.log.push(level, line.to_owned());
            }
            self.log.truncated |= cut;
        }
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Memory accounting for a run: refuses growth past the limit with an error
/// the outcome recognises, and remembers the peak.
pub(crate) struct Meter {
    limit: u64,
    current: u64,
    pub peak: u64,
}

/// The trap a refused memory growth raises.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded")]
pub(crate) struct MemoryLimitExceeded {
    pub limit: u64,
}

impl Meter {
    fn new(limit: u64) -> Self {
        Self {
            limit,
            current: 0,
            peak: 0,
        }
    }
}

/// Table elements one run may have (function tables of large programs hold
/// tens of thousands).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for Meter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The module's own maximum refuses this growth anyway: fail it
        // without counting it.
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        let next = self
            .current
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if next > self.limit {
            return Err(MemoryLimitExceeded { limit: self.limit }.into());
        }
        self.current = next;
        self.peak = self.peak.max(next);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::format_err!(
                "table limit of {MAX_TABLE_ELEMENTS} elements exceeded"
            ));
        }
        Ok(true)
    }
}

/// The run's log, within its byte budget.
pub(crate) struct LogBuffer {
    pub lines: Vec<LogLine>,
    bytes: u64,
    budget: u64,
    pub truncated: bool,
    started: Instant,
}

/// What one line costs the log budget besides its text.
const LINE_OVERHEAD_BYTES: u64 = 32;

/// One line longer than this is cut.
const MAX_LINE_BYTES: usize = 16 << 10;

impl LogBuffer {
    fn new(budget: u64, started: Instant) -> Self {
        Self {
            lines: Vec::new(),
            bytes: 0,
            budget,
            truncated: false,
            started,
        }
    }

    pub fn push(&mut self, level: Level, mut message: String) {
        if self.truncated {
            return;
        }
        if message.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("… [line cut]");
        }
        // Each line is charged for its bookkeeping too, so empty lines are
        // not free.
        let cost = message.len() as u64 + LINE_OVERHEAD_BYTES;
        if self.bytes + cost > self.budget {
            self.truncated = true;
            return;
        }
        self.bytes += cost;
        let at_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.lines.push(LogLine {
            level,
            message,
            at_ms,
        });
    }
}

fn denied(capability: &str, field: &str) -> CapabilityError {
    CapabilityError::Denied(format!(
        "{capability} is not granted; add it under capabilities.{field} in the agent's manifest"
    ))
}

fn capability_error(error: CallError) -> CapabilityError {
    match error {
        CallError::Denied(message) => CapabilityError::Denied(message),
        CallError::Invalid(message) => CapabilityError::Invalid(message),
        CallError::Limit(message) => CapabilityError::Limit(message),
        CallError::Failed(message) => CapabilityError::Failed(message),
    }
}

impl wit::types::Host for RunState {}

impl wit::log::Host for RunState {
    async fn log(&mut self, level: wit::log::Level, message: String) {
        let level = match level {
            wit::log::Level::Debug => Level::Debug,
            wit::log::Level::Info => Level::Info,
            wit::log::Level::Warn => Level::Warn,
            wit::log::Level::Error => Level::Error,
        };
        self.log.push(level, message);
    }
}

impl wit::llm::Host for RunState {
    async fn complete(
        &mut self,
        request: wit::llm::Request,
    ) -> Result<wit::llm::Completion, CapabilityError> {
        if !self.host.capabilities.llm {
            return Err(denied("llm", "llm"));
        }
        let mut request = llm::Request {
            messages: request
                .messages
                .into_iter()
                .map(|message| llm::Message {
                    role: message.role,
                    content: message.content,
                })
                .collect(),
            model: request.model,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
        };
        let provider = Arc::clone(&self.host.llm);
        // The run's budget: calls, then tokens for this call's worst case
        // (its prompt's bound plus the answer's `max_tokens`, which the
        // host sets when the agent did not).
        let used = self.llm_used;
        if used.calls >= self.llm_calls_limit {
            return Err(capability_error(CallError::Limit(format!(
                "this run made its {} language model calls (limits.llm_calls)",
                self.llm_calls_limit
            ))));
        }
        let left = self.llm_tokens_limit.saturating_sub(used.tokens.total());
        let prompt = llm::prompt_bound(&request.messages);
        let asked = u64::from(
            request
                .max_tokens
                .unwrap_or_else(|| provider.default_max_tokens())
                .max(1),
        );
        let answer = asked.min(left.saturating_sub(prompt));
        if answer == 0 {
            return Err(capability_error(CallError::Limit(format!(
                "this call's prompt (up to {prompt} tokens) and answer do not fit the \
                 {left} language model tokens this run has left (limits.llm_tokens)"
            ))));
        }
        request.max_tokens = Some(u32::try_from(answer).unwrap_or(u32::MAX));
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| provider.default_model().to_owned());
        let meter = self.host.llm_meter.clone();
        let hold = match &meter {
            Some(meter) => Some(
                meter
                    .hold(
                        &model,
                        Tokens {
                            input: prompt,
                            output: answer,
                        },
                    )
                    .await
                    .map_err(capability_error)?,
            ),
            None => None,
        };
        self.llm_used.calls += 1;
        let answered = provider.complete(request, self.response_bytes).await;
        let worst = Tokens {
            input: prompt,
            output: answer,
        };
        let reported = match &answered {
            // A provider that reports no usage is taken at the worst case.
            Ok(completion)
                if completion.prompt_tokens == 0 && completion.completion_tokens == 0 =>
            {
                Some(worst)
            }
            Ok(completion) => Some(Tokens {
                input: u64::from(completion.prompt_tokens),
                output: u64::from(completion.completion_tokens),
            }),
            // An answer too large to take was produced (and billed) all
            // the same.
            Err(CallError::Limit(_)) => Some(worst),
            Err(_) => None,
        };
        if let Some(tokens) = reported {
            self.llm_used.tokens.input += tokens.input;
            self.llm_used.tokens.output += tokens.output;
        }
        if let (Some(meter), Some(hold)) = (meter, hold) {
            meter.settle(hold, &model, reported).await;
        }
        let completion = answered.map_err(capability_error)?;
        Ok(wit::llm::Completion {
            content: completion.content,
            model: completion.model,
            prompt_tokens: completion.prompt_tokens,
            completion_tokens: completion.completion_tokens,
        })
    }
}

impl wit::http::Host for RunState {
    async fn fetch(
        &mut self,
        request: wit::http::Request,
    ) -> Result<wit::http::Response, CapabilityError> {
        let request = http::Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        let fetcher = self.host.http.clone();
        let capabilities = Arc::clone(&self.host.capabilities);
        let response = fetcher
            .fetch(&capabilities, request, self.response_bytes)
            .await
            .map_err(capability_error)?;
        Ok(wit::http::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

impl RunState {
    fn kv_store(&self) -> Result<Arc<dyn KvStore>, CapabilityError> {
        if !self.host.capabilities.kv {
            return Err(denied("kv", "kv"));
        }
        self.host.kv.clone().ok_or_else(|| {
            CapabilityError::Denied(
                "kv is not available here: the agent is not running in a deployment".into(),
            )
        })
    }
}

fn check_key(key: &str) -> Result<(), CapabilityError> {
    if key.is_empty() {
        return Err(CapabilityError::Invalid("the key is empty".into()));
    }
    if key.contains('\0') {
        return Err(CapabilityError::Invalid(
            "the key contains a NUL character".into(),
        ));
    }
    if key.len() > kv::MAX_KEY_BYTES {
        return Err(CapabilityError::Invalid(format!(
            "the key is longer than {} bytes",
            kv::MAX_KEY_BYTES
        )));
    }
    Ok(())
}

impl wit::kv::Host for RunState {
    async fn get(&mut self, key: String) -> Result<Option<String>, CapabilityError> {
        let store = self.kv_store()?;
        check_key(&key)?;
        store.get(&key).await.map_err(CapabilityError::Failed)
    }

    async fn set(&mut self, key: String, value: String) -> Result<(), CapabilityError> {
        let store = self.kv_store()?;
        check_key(&key)?;
        if value.len() > kv::MAX_VALUE_BYTES {
            return Err(CapabilityError::Limit(format!(
                "the value is larger than {} bytes",
                kv::MAX_VALUE_BYTES
            )));
        }
        if value.contains('\0') {
            return Err(CapabilityError::Invalid(
                "the value contains a NUL character".into(),
            ));
        }
        store
            .set(&key, &value)
            .await
            .map_err(CapabilityError::Failed)
    }

    async fn delete(&mut self, key: String) -> Result<bool, CapabilityError> {
        let store = self.kv_store()?;
        check_key(&key)?;
        store.delete(&key).await.map_err(CapabilityError::Failed)
    }

    async fn keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, CapabilityError> {
        let store = self.kv_store()?;
        if !prefix.is_empty() {
            check_key(&prefix)?;
        }
        store
            .keys(&prefix, limit.min(kv::MAX_LIST))
            .await
            .map_err(CapabilityError::Failed)
    }
}

impl wit::config::Host for RunState {
    async fn get(&mut self, key: String) -> Result<Option<String>, CapabilityError> {
        if !self.host.capabilities.config.contains(&key) {
            return Err(CapabilityError::Denied(format!(
                "config key {key:?} is not declared; list it under capabilities.config in the agent's manifest"
            )));
        }
        Ok(self.host.config.get(&key).cloned())
    }

    async fn secret(&mut self, key: String) -> Result<Option<String>, CapabilityError> {
        if !self.host.capabilities.secrets.contains(&key) {
            return Err(CapabilityError::Denied(format!(
                "secret {key:?} is not declared; list it under capabilities.secrets in the agent's manifest"
            )));
        }
        Ok(self.host.secrets.get(&key).cloned())
    }
}

impl wit::trigger::Host for RunState {
    async fn get(&mut self) -> wit::trigger::Info {
        let trigger = &self.host.trigger;
        wit::trigger::Info {
            kind: trigger.kind.clone(),
            at: trigger.at.clone(),
            details: trigger.details.clone(),
        }
    }
}

impl wit::conversation::Host for RunState {
    async fn history(&mut self) -> Vec<wit::conversation::Message> {
        self.host
            .conversation
            .iter()
            .map(|message| wit::conversation::Message {
                role: message.role.clone(),
                text: message.text.clone(),
                at: message.at.clone(),
            })
            .collect()
    }
}

impl wit::connections::Host for RunState {
    async fn providers(&mut self) -> Vec<String> {
        match &self.host.connections {
            Some(broker) => broker.providers(),
            None => Vec::new(),
        }
    }

    async fn fetch(
        &mut self,
        provider: String,
        request: wit::connections::Request,
    ) -> Result<wit::http::Response, CapabilityError> {
        let Some(broker) = self.host.connections.clone() else {
            return Err(CapabilityError::Denied(
                "connections are not available here (a deployment binds them)".into(),
            ));
        };
        let request = connections::Request {
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
        };
        let fetcher = self.host.http.clone();
        let response = connections::fetch(
            broker.as_ref(),
            &fetcher,
            &provider,
            request,
            self.response_bytes,
        )
        .await
        .map_err(capability_error)?;
        Ok(wit::http::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

impl bindings::runner::agentdeck::agent::script::Host for RunState {
    async fn name(&mut self) -> String {
        self.script
            .as_ref()
            .map(|script| script.name.clone())
            .unwrap_or_default()
    }

    async fn source(&mut self) -> String {
        self.script
            .as_ref()
            .map(|script| script.source.clone())
            .unwrap_or_default()
    }
}
