//! QuickJS (rquickjs) agent: runs the embedded ES module's default export on
//! JSON.parse(input) and returns JSON.stringify(result).
wit_bindgen::generate!({ world: "agent", path: "../../../../agents/wit" });

#[path = "../../script.rs"]
mod script;

use agentdeck::agent::log;
use rquickjs::{CatchResultExt, Context, Ctx, Function, Module, Object, Promise, Runtime, Value};

struct Agent;

fn err(code: &str, message: String) -> AgentError {
    AgentError { code: code.into(), message, line: None, column: None }
}

fn console_log(msg: rquickjs::Coerced<String>) {
    log::log(log::Level::Info, &msg.0);
}

fn run_in<'js>(ctx: Ctx<'js>, input: &str) -> Result<String, AgentError> {
    let exc = |e: rquickjs::CaughtError<'js>| err("exception", e.to_string());
    let console = Object::new(ctx.clone()).catch(&ctx).map_err(exc)?;
    console.set("log", Function::new(ctx.clone(), console_log)).catch(&ctx).map_err(exc)?;
    ctx.globals().set("console", console).catch(&ctx).map_err(exc)?;

    let (module, promise) = Module::declare(ctx.clone(), "agent.js", script::SCRIPT)
        .catch(&ctx)
        .map_err(|e| err("syntax-error", e.to_string()))?
        .eval()
        .catch(&ctx)
        .map_err(exc)?;
    promise.finish::<()>().catch(&ctx).map_err(exc)?;
    let run: Function = module.namespace().and_then(|ns| ns.get("default")).catch(&ctx).map_err(exc)?;
    let input = ctx.json_parse(input).catch(&ctx).map_err(|e| err("invalid-input", e.to_string()))?;
    let mut output: Value = run.call((input,)).catch(&ctx).map_err(exc)?;
    if let Some(p) = output.as_promise().cloned() {
        output = Promise::finish::<Value>(&p).catch(&ctx).map_err(exc)?;
    }
    let text = ctx.json_stringify(output).catch(&ctx).map_err(exc)?;
    match text {
        Some(s) => s.to_string().map_err(|e| err("failed", e.to_string())),
        None => Ok("null".into()),
    }
}

impl Guest for Agent {
    fn run(input: String) -> Result<String, AgentError> {
        let rt = Runtime::new().map_err(|e| err("failed", e.to_string()))?;
        rt.set_max_stack_size(512 * 1024);
        let context = Context::full(&rt).map_err(|e| err("failed", e.to_string()))?;
        context.with(|ctx| run_in(ctx, &input))
    }
}

export!(Agent);
