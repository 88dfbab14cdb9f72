//! The JavaScript runner: a component that embeds the Boa engine and runs the
//! agent script the host hands it through the `script` interface.
//!
//! The script is an ES module whose default export (or export named `run`) is
//! the agent:
//!
//! ```js
//! export default async function run(input, ctx) {
//!   ctx.log.info("hello");
//!   return { echo: input };
//! }
//! ```
//!
//! `input` is the run's input parsed from JSON; the return value (or what the
//! returned promise settles to) is the output, turned back into JSON. `ctx`
//! gives the host's capabilities: `ctx.log`, `ctx.llm`, `ctx.http`, `ctx.kv`,
//! `ctx.config` and `ctx.secrets`, what started the run, `ctx.trigger`, the
//! conversation it answers in, `ctx.conversation`, and the accounts the
//! deployment connected, `ctx.connections`, described in docs/agents.md.
//! Every
//! capability call is synchronous underneath; `await` on it works as well.
//!
//! Errors come back to the host as `agent-error`s with a code, a message and,
//! when Boa knows it, the line and column in the script.

wit_bindgen::generate!({ world: "js-runner-build", path: "../wit" });

use agentdeck::agent::types::CapabilityError;
use agentdeck::agent::{config, connections, conversation, http, kv, llm, log, script, trigger};
use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{
    Context, JsArgs, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue, Module,
    NativeFunction, Source, js_string,
};
use std::cell::RefCell;
use std::path::Path;

struct Runner;

/// An engine and its `ctx`, set up by `initialize` before the host takes
/// its snapshot: each instance (one run) takes it once.
struct Ready {
    context: Context,
    ctx: JsValue,
}

thread_local! {
    static READY: RefCell<Option<Ready>> = const { RefCell::new(None) };
}

/// The engine the snapshot holds, or a new one (no snapshot, or taken).
fn ready() -> Ready {
    READY
        .with(|ready| ready.borrow_mut().take())
        .unwrap_or_else(|| {
            let mut context = engine();
            let ctx = capabilities(&mut context);
            Ready { context, ctx }
        })
}

impl Guest for Runner {
    /// Sets up the engine, the globals and `ctx` (no capability is called:
    /// the host's snapshot must not hold anything of a run).
    fn initialize() {
        let ready = ready();
        READY.with(|slot| *slot.borrow_mut() = Some(ready));
    }

    fn run(input: String) -> Result<String, AgentError> {
        let name = script::name();
        let Ready { mut context, ctx } = ready();
        let context = &mut context;
        let run = load(&name, context)?;
        with_trigger(&ctx, context);
        with_conversation(&ctx, context);
        with_connections(&ctx, context);
        let input = json_parse(&input, context).map_err(|error| {
            agent_error(
                "invalid-input",
                format!("the input is not JSON: {}", first_line(&error.to_string())),
            )
        })?;
        let returned = run
            .call(&JsValue::undefined(), &[input, ctx], context)
            .map_err(|error| exception(&name, error, context))?;
        let output = settle(returned, context).map_err(|error| exception(&name, error, context))?;
        json_stringify(output, context).map_err(|error| exception(&name, error, context))
    }
}

impl exports::agentdeck::agent::checker::Guest for Runner {
    fn check() -> Result<(), AgentError> {
        let name = script::name();
        load(&name, &mut ready().context).map(drop)
    }
}

export!(Runner);

/// A fresh engine with the globals an agent expects besides the language:
/// `console`, which writes to the run's log.
fn engine() -> Context {
    let mut context = Context::builder()
        .clock(std::rc::Rc::new(RunClock::default()))
        .build()
        .unwrap_or_default();
    let limits = context.runtime_limits_mut();
    limits.set_recursion_limit(2_000);
    let console = log_object(&mut context);
    // Registering a new global on a fresh context cannot collide.
    let _ = context.register_global_property(js_string!("console"), console, Attribute::all());
    context
}

/// Boa's monotonic clock (`performance.now()`, timers), started at its
/// first reading rather than when the engine is set up: that happens before
/// the host's snapshot, where reading a clock is refused (and would leave
/// every run the same start).
#[derive(Default)]
struct RunClock {
    start: std::cell::OnceCell<std::time::Instant>,
}

impl boa_engine::context::Clock for RunClock {
    fn now(&self) -> boa_engine::context::time::JsInstant {
        let elapsed = self.start.get_or_init(std::time::Instant::now).elapsed();
        boa_engine::context::time::JsInstant::new(elapsed.as_secs(), elapsed.subsec_nanos())
    }

    fn system_time_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// Parses, links and evaluates the script as a module and returns its agent
/// function.
fn load(name: &str, context: &mut Context) -> Result<JsObject, AgentError> {
    let source = script::source();
    let module = Module::parse(
        Source::from_bytes(source.as_bytes()).with_path(Path::new(name)),
        None,
        context,
    )
    .map_err(|error| syntax_error(&source, error, context))?;
    let loaded = module.load_link_evaluate(context);
    context
        .run_jobs()
        .map_err(|error| exception(name, error, context))?;
    match loaded.state() {
        PromiseState::Fulfilled(_) => {}
        PromiseState::Rejected(reason) => {
            return Err(exception(name, JsError::from_opaque(reason), context));
        }
        PromiseState::Pending => {
            return Err(agent_error(
                "exception",
                "the script's top-level code never finished (it awaits something that does not settle)".into(),
            ));
        }
    }
    let namespace = module.namespace(context);
    for export in [js_string!("default"), js_string!("run")] {
        let value = namespace
            .get(export, context)
            .map_err(|error| exception(name, error, context))?;
        if let Some(function) = value.as_callable() {
            return Ok(function);
        }
    }
    Err(agent_error(
        "no-run-function",
        "the script must export its agent: `export default function run(input, ctx) { … }`".into(),
    ))
}

/// Waits for a promise to settle by running the engine's job queue; any other
/// value is already settled.
fn settle(value: JsValue, context: &mut Context) -> JsResult<JsValue> {
    let Some(promise) = value.as_promise() else {
        return Ok(value);
    };
    context.run_jobs()?;
    match promise.state() {
        PromiseState::Fulfilled(value) => Ok(value),
        PromiseState::Rejected(reason) => Err(JsError::from_opaque(reason)),
        PromiseState::Pending => Err(JsNativeError::error()
            .with_message(
                "the agent's promise never settled (there are no timers here to settle it later)",
            )
            .into()),
    }
}

fn json_parse(text: &str, context: &mut Context) -> JsResult<JsValue> {
    let json = context.intrinsics().objects().json();
    let parse = json.get(js_string!("parse"), context)?;
    let parse = parse
        .as_callable()
        .ok_or_else(|| JsNativeError::typ().with_message("JSON.parse is gone"))?;
    parse.call(&json.into(), &[JsString::from(text).into()], context)
}

/// `JSON.stringify(value)`, with `undefined` (a function that returns
/// nothing) answering `null`.
fn json_stringify(value: JsValue, context: &mut Context) -> JsResult<String> {
    let json = context.intrinsics().objects().json();
    let stringify = json.get(js_string!("stringify"), context)?;
    let stringify = stringify
        .as_callable()
        .ok_or_else(|| JsNativeError::typ().with_message("JSON.stringify is gone"))?;
    let text = stringify.call(&json.into(), &[value], context)?;
    if text.is_undefined() {
        return Ok("null".into());
    }
    Ok(text.to_string(context)?.to_std_string_escaped())
}

// --- errors ------------------------------------------------------------------

fn agent_error(code: &str, message: String) -> AgentError {
    AgentError {
        code: code.into(),
        message,
        line: None,
        column: None,
    }
}

/// A parse error: Boa's message ends "at line L, col C".
fn syntax_error(source: &str, error: JsError, context: &mut Context) -> AgentError {
    let message = match error.try_native(context) {
        Ok(native) => native.message().to_owned(),
        Err(_) => error.to_string(),
    };
    let (message, line, column) = match message.rsplit_once(" at line ") {
        Some((text, position)) => {
            let mut numbers = position
                .split(", col ")
                .map(|number| number.trim().parse::<u32>().ok());
            (
                text.to_owned(),
                numbers.next().flatten(),
                numbers.next().flatten(),
            )
        }
        // "abrupt end": the script stops in the middle of something.
        None => {
            let line = source.lines().count().max(1);
            let column = source.lines().last().map_or(0, |last| last.chars().count()) + 1;
            (
                format!("{message}: the script ends in the middle of a statement"),
                u32::try_from(line).ok(),
                u32::try_from(column).ok(),
            )
        }
    };
    AgentError {
        code: "syntax-error".into(),
        message: format!("SyntaxError: {message}"),
        line,
        column,
    }
}

/// A thrown exception or an engine limit, with the position Boa recorded for
/// it: exact for `throw` statements and calls (a failing `ctx.http.fetch`, a
/// call of something undefined); for other expressions, the nearest call or
/// the function's start.
fn exception(name: &str, error: JsError, context: &mut Context) -> AgentError {
    if let Some(engine) = error.as_engine() {
        let code = match engine.to_string() {
            text if text.contains("recursive calls") || text.contains("stack size") => {
                "stack-exhausted"
            }
            _ => "engine-limit",
        };
        return agent_error(code, first_line(&engine.to_string()).to_owned());
    }
    // Boa prints a native error as "Kind: message (file:line:col)" and adds
    // "    at function (file:line:col)" lines for the call stack.
    let full = error.to_string();
    let headline = match error.try_native(context) {
        Ok(native) => format!("{}: {}", native.kind(), native.message()),
        Err(_) => first_line(&full).to_owned(),
    };
    let (line, column) = position(name, &full);
    // The call stack, innermost first, when there is more than the agent's
    // own frame to show.
    let frames: Vec<&str> = full.lines().skip(1).map(str::trim).collect();
    let message = if frames.len() > 1 {
        format!("{headline}\n    {}", frames.join("\n    "))
    } else {
        headline
    };
    AgentError {
        code: "exception".into(),
        message,
        line,
        column,
    }
}

/// The first "(name:line:col)" in Boa's rendering of an error.
fn position(name: &str, rendered: &str) -> (Option<u32>, Option<u32>) {
    let marker = format!("({name}:");
    for (start, _) in rendered.match_indices(&marker) {
        let rest = &rendered[start + marker.len()..];
        let Some(end) = rest.find(')') else { continue };
        let mut numbers = rest[..end]
            .split(':')
            .map(|number| number.parse::<u32>().ok());
        if let (Some(Some(line)), Some(Some(column))) = (numbers.next(), numbers.next()) {
            return (Some(line), Some(column));
        }
    }
    (None, None)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A capability error becomes a JavaScript `Error` the agent can catch; its
/// message starts with the kind (`denied: …`).
fn throw(error: CapabilityError) -> JsError {
    let message = match error {
        CapabilityError::Denied(message) => format!("denied: {message}"),
        CapabilityError::Invalid(message) => format!("invalid: {message}"),
        CapabilityError::Limit(message) => format!("limit: {message}"),
        CapabilityError::Failed(message) => format!("failed: {message}"),
    };
    JsNativeError::error().with_message(message).into()
}

// --- ctx ---------------------------------------------------------------------

/// The `ctx` object handed to the agent.
fn capabilities(context: &mut Context) -> JsValue {
    let log = log_object(context);
    let llm = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(llm_complete),
            js_string!("complete"),
            2,
        )
        .function(NativeFunction::from_fn_ptr(llm_chat), js_string!("chat"), 2)
        .build();
    let http = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(http_fetch),
            js_string!("fetch"),
            2,
        )
        .build();
    let kv = ObjectInitializer::new(context)
        .function(NativeFunction::from_fn_ptr(kv_get), js_string!("get"), 1)
        .function(NativeFunction::from_fn_ptr(kv_set), js_string!("set"), 2)
        .function(
            NativeFunction::from_fn_ptr(kv_delete),
            js_string!("delete"),
            1,
        )
        .function(NativeFunction::from_fn_ptr(kv_list), js_string!("list"), 2)
        .build();
    let config = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(config_get),
            js_string!("get"),
            1,
        )
        .build();
    let secrets = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(secret_get),
            js_string!("get"),
            1,
        )
        .build();
    ObjectInitializer::new(context)
        .property(js_string!("log"), log, Attribute::READONLY)
        .property(js_string!("llm"), llm, Attribute::READONLY)
        .property(js_string!("http"), http, Attribute::READONLY)
        .property(js_string!("kv"), kv, Attribute::READONLY)
        .property(js_string!("config"), config, Attribute::READONLY)
        .property(js_string!("secrets"), secrets, Attribute::READONLY)
        .build()
        .into()
}

/// `ctx.trigger`: what started the run, read from the host when the run
/// starts (never in the snapshot): `{ kind, at, …details }`, e.g. a
/// webhook's `method`, `query` and `headers`, a schedule's `slot`.
fn with_trigger(ctx: &JsValue, context: &mut Context) {
    let info = trigger::get();
    let details = json_parse(&info.details, context)
        .ok()
        .and_then(|value| value.as_object())
        .unwrap_or_else(|| JsObject::with_object_proto(context.intrinsics()));
    let _ = details.set(
        js_string!("kind"),
        JsString::from(info.kind.as_str()),
        false,
        context,
    );
    let _ = details.set(
        js_string!("at"),
        JsString::from(info.at.as_str()),
        false,
        context,
    );
    define_per_run(ctx, js_string!("trigger"), details.into(), context);
}

/// `ctx.conversation`: the earlier messages of the conversation the run
/// answers in, oldest first, as `[{ role, text, at }, …]`; `[]` outside a
/// conversation. Read from the host when the run starts, like `ctx.trigger`.
fn with_conversation(ctx: &JsValue, context: &mut Context) {
    let messages: Vec<JsValue> = conversation::history()
        .into_iter()
        .map(|message| {
            ObjectInitializer::new(context)
                .property(
                    js_string!("role"),
                    JsString::from(message.role.as_str()),
                    Attribute::all(),
                )
                .property(
                    js_string!("text"),
                    JsString::from(message.text.as_str()),
                    Attribute::all(),
                )
                .property(
                    js_string!("at"),
                    JsString::from(message.at.as_str()),
                    Attribute::all(),
                )
                .build()
                .into()
        })
        .collect();
    let messages = boa_engine::object::builtins::JsArray::from_iter(messages, context);
    define_per_run(ctx, js_string!("conversation"), messages.into(), context);
}

/// `ctx.connections`: one object per provider the manifest lists, each with
/// `fetch(path, options)`. Made when the run starts (the providers are the
/// deployment's), like `ctx.trigger`.
fn with_connections(ctx: &JsValue, context: &mut Context) {
    let object = JsObject::with_object_proto(context.intrinsics());
    for provider in connections::providers() {
        let fetch = NativeFunction::from_copy_closure_with_captures(
            |_, args, provider: &JsString, context| connection_fetch(provider, args, context),
            JsString::from(provider.as_str()),
        );
        let api = ObjectInitializer::new(context)
            .function(fetch, js_string!("fetch"), 2)
            .build();
        let _ = object.define_property_or_throw(
            JsString::from(provider.as_str()),
            boa_engine::property::PropertyDescriptor::builder()
                .value(api)
                .writable(false)
                .enumerable(true)
                .configurable(false),
            context,
        );
    }
    define_per_run(ctx, js_string!("connections"), object.into(), context);
}

/// Adds a value of this run to `ctx`, which the snapshot holds without it:
/// read-only, like the capabilities beside it.
fn define_per_run(ctx: &JsValue, name: JsString, value: JsValue, context: &mut Context) {
    if let Some(ctx) = ctx.as_object() {
        let _ = ctx.define_property_or_throw(
            name,
            boa_engine::property::PropertyDescriptor::builder()
                .value(value)
                .writable(false)
                .enumerable(true)
                .configurable(false),
            context,
        );
    }
}

fn log_object(context: &mut Context) -> JsObject {
    ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(|_, args, context| {
                write_log(log::Level::Info, args, context)
            }),
            js_string!("log"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, args, context| {
                write_log(log::Level::Debug, args, context)
            }),
            js_string!("debug"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, args, context| {
                write_log(log::Level::Info, args, context)
            }),
            js_string!("info"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, args, context| {
                write_log(log::Level::Warn, args, context)
            }),
            js_string!("warn"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, args, context| {
                write_log(log::Level::Error, args, context)
            }),
            js_string!("error"),
            0,
        )
        .build()
}

/// `console.log`-style: strings as they are, other values as JSON, joined by
/// spaces.
fn write_log(level: log::Level, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let mut line = String::new();
    for (index, value) in args.iter().enumerate() {
        if index > 0 {
            line.push(' ');
        }
        match value.as_string() {
            Some(text) => line.push_str(&text.to_std_string_escaped()),
            None if value.is_callable() || value.is_symbol() || value.is_undefined() => {
                line.push_str(&value.display().to_string());
            }
            None => match json_stringify(value.clone(), context) {
                Ok(json) => line.push_str(&json),
                Err(_) => line.push_str(&value.display().to_string()),
            },
        }
    }
    log::log(level, &line);
    Ok(JsValue::undefined())
}

fn string_arg(
    args: &[JsValue],
    index: usize,
    what: &str,
    context: &mut Context,
) -> JsResult<String> {
    let value = args.get_or_undefined(index);
    if value.is_null_or_undefined() {
        return Err(JsNativeError::typ()
            .with_message(format!("{what} is required"))
            .into());
    }
    Ok(value.to_string(context)?.to_std_string_escaped())
}

fn optional_string(
    object: Option<&JsObject>,
    key: &str,
    context: &mut Context,
) -> JsResult<Option<String>> {
    let Some(object) = object else {
        return Ok(None);
    };
    let value = object.get(JsString::from(key), context)?;
    if value.is_null_or_undefined() {
        return Ok(None);
    }
    Ok(Some(value.to_string(context)?.to_std_string_escaped()))
}

fn optional_number(
    object: Option<&JsObject>,
    key: &str,
    context: &mut Context,
) -> JsResult<Option<f64>> {
    let Some(object) = object else {
        return Ok(None);
    };
    let value = object.get(JsString::from(key), context)?;
    if value.is_null_or_undefined() {
        return Ok(None);
    }
    Ok(Some(value.to_number(context)?))
}

/// `ctx.llm.complete(prompt, { system, model, temperature, maxTokens })`:
/// the completion's text.
fn llm_complete(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let prompt = string_arg(args, 0, "the prompt", context)?;
    let options = args.get_or_undefined(1).as_object();
    let mut messages = Vec::new();
    if let Some(system) = optional_string(options.as_ref(), "system", context)? {
        messages.push(llm::Message {
            role: "system".into(),
            content: system,
        });
    }
    messages.push(llm::Message {
        role: "user".into(),
        content: prompt,
    });
    let completion = llm_call(messages, options.as_ref(), context)?;
    Ok(JsString::from(completion.content.as_str()).into())
}

/// `ctx.llm.chat([{ role, content }, …], options)`:
/// `{ content, model, usage: { promptTokens, completionTokens } }`.
fn llm_chat(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let list = args.get_or_undefined(0).as_object().ok_or_else(|| {
        JsNativeError::typ().with_message("chat takes a list of { role, content } messages")
    })?;
    let length = list
        .get(js_string!("length"), context)?
        .to_length(context)?;
    let mut messages = Vec::new();
    for index in 0..length {
        let message = list.get(index, context)?;
        let message = message.as_object();
        let role =
            optional_string(message.as_ref(), "role", context)?.unwrap_or_else(|| "user".into());
        let content = optional_string(message.as_ref(), "content", context)?.unwrap_or_default();
        messages.push(llm::Message { role, content });
    }
    let options = args.get_or_undefined(1).as_object();
    let completion = llm_call(messages, options.as_ref(), context)?;
    let usage = ObjectInitializer::new(context)
        .property(
            js_string!("promptTokens"),
            completion.prompt_tokens,
            Attribute::all(),
        )
        .property(
            js_string!("completionTokens"),
            completion.completion_tokens,
            Attribute::all(),
        )
        .build();
    Ok(ObjectInitializer::new(context)
        .property(
            js_string!("content"),
            JsString::from(completion.content.as_str()),
            Attribute::all(),
        )
        .property(
            js_string!("model"),
            JsString::from(completion.model.as_str()),
            Attribute::all(),
        )
        .property(js_string!("usage"), usage, Attribute::all())
        .build()
        .into())
}

fn llm_call(
    messages: Vec<llm::Message>,
    options: Option<&JsObject>,
    context: &mut Context,
) -> JsResult<llm::Completion> {
    let request = llm::Request {
        messages,
        model: optional_string(options, "model", context)?,
        #[allow(clippy::cast_possible_truncation)]
        temperature: optional_number(options, "temperature", context)?.map(|value| value as f32),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        max_tokens: optional_number(options, "maxTokens", context)?
            .map(|value| value.clamp(0.0, f64::from(u32::MAX)) as u32),
    };
    llm::complete(&request).map_err(throw)
}

/// `ctx.http.fetch(url, { method, headers, body })`:
/// `{ status, ok, headers, body, json() }`.
fn http_fetch(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let url = string_arg(args, 0, "the URL", context)?;
    let (method, headers, body) = request_options(args, context)?;
    let response = http::fetch(&http::Request {
        method,
        url,
        headers,
        body,
    })
    .map_err(throw)?;
    response_value(response, context)
}

/// `ctx.connections.<provider>.fetch(path, { method, headers, body })`:
/// the provider's API with the credential the host adds, answered like
/// `ctx.http.fetch`.
fn connection_fetch(
    provider: &JsString,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let path = string_arg(args, 0, "the path", context)?;
    let (method, headers, body) = request_options(args, context)?;
    let response = connections::fetch(
        &provider.to_std_string_escaped(),
        &connections::Request {
            method,
            path,
            headers,
            body,
        },
    )
    .map_err(throw)?;
    response_value(response, context)
}

/// A request's method, headers and body.
type RequestOptions = (String, Vec<(String, String)>, Option<String>);

/// A fetch's second argument: method (GET unless given), headers, body (a
/// string as is, anything else as JSON).
fn request_options(args: &[JsValue], context: &mut Context) -> JsResult<RequestOptions> {
    let options = args.get_or_undefined(1).as_object();
    let method =
        optional_string(options.as_ref(), "method", context)?.unwrap_or_else(|| "GET".into());
    let mut headers = Vec::new();
    if let Some(options) = &options {
        let given = options.get(js_string!("headers"), context)?;
        if let Some(given) = given.as_object() {
            for key in given.own_property_keys(context)? {
                let value = given
                    .get(key.clone(), context)?
                    .to_string(context)?
                    .to_std_string_escaped();
                headers.push((key.to_string(), value));
            }
        }
    }
    let body = match options
        .as_ref()
        .map(|options| options.get(js_string!("body"), context))
        .transpose()?
    {
        Some(body) if body.is_string() => Some(body.to_string(context)?.to_std_string_escaped()),
        Some(body) if !body.is_null_or_undefined() => Some(json_stringify(body, context)?),
        _ => None,
    };
    Ok((method.to_uppercase(), headers, body))
}

/// `{ status, ok, headers, body, json() }`.
fn response_value(response: http::Response, context: &mut Context) -> JsResult<JsValue> {
    let header_object = ObjectInitializer::new(context).build();
    for (name, value) in &response.headers {
        header_object.set(
            JsString::from(name.to_lowercase().as_str()),
            JsString::from(value.as_str()),
            false,
            context,
        )?;
    }
    Ok(ObjectInitializer::new(context)
        .property(js_string!("status"), response.status, Attribute::all())
        .property(
            js_string!("ok"),
            (200..300).contains(&response.status),
            Attribute::all(),
        )
        .property(js_string!("headers"), header_object, Attribute::all())
        .property(
            js_string!("body"),
            JsString::from(response.body.as_str()),
            Attribute::all(),
        )
        .function(
            NativeFunction::from_fn_ptr(|this, _, context| {
                let body = this
                    .as_object()
                    .map(|response| response.get(js_string!("body"), context))
                    .transpose()?
                    .unwrap_or_default();
                json_parse(&body.to_string(context)?.to_std_string_escaped(), context)
            }),
            js_string!("json"),
            0,
        )
        .build()
        .into())
}

/// Values are stored as JSON, so `ctx.kv.set("n", 3)` reads back as a number.
fn kv_get(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = string_arg(args, 0, "the key", context)?;
    match kv::get(&key).map_err(throw)? {
        Some(json) => json_parse(&json, context),
        None => Ok(JsValue::null()),
    }
}

fn kv_set(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = string_arg(args, 0, "the key", context)?;
    let value = json_stringify(args.get_or_undefined(1).clone(), context)?;
    kv::set(&key, &value).map_err(throw)?;
    Ok(JsValue::undefined())
}

fn kv_delete(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = string_arg(args, 0, "the key", context)?;
    Ok(kv::delete(&key).map_err(throw)?.into())
}

/// `ctx.kv.list(prefix = "", limit = 100)`: the keys, in order.
fn kv_list(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let prefix = match args.get_or_undefined(0) {
        value if value.is_null_or_undefined() => String::new(),
        value => value.to_string(context)?.to_std_string_escaped(),
    };
    let limit = match args.get_or_undefined(1) {
        value if value.is_null_or_undefined() => 100,
        #[allow(clippy::cast_possible_truncation)]
        value => value.to_length(context)?.min(u64::from(u32::MAX)) as u32,
    };
    let keys = kv::keys(&prefix, limit).map_err(throw)?;
    let keys: Vec<JsValue> = keys
        .iter()
        .map(|key| JsString::from(key.as_str()).into())
        .collect();
    Ok(boa_engine::object::builtins::JsArray::from_iter(keys, context).into())
}

fn config_get(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = string_arg(args, 0, "the key", context)?;
    Ok(config::get(&key)
        .map_err(throw)?
        .map_or(JsValue::null(), |value| {
            JsString::from(value.as_str()).into()
        }))
}

fn secret_get(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = string_arg(args, 0, "the key", context)?;
    Ok(config::secret(&key)
        .map_err(throw)?
        .map_or(JsValue::null(), |value| {
            JsString::from(value.as_str()).into()
        }))
}
