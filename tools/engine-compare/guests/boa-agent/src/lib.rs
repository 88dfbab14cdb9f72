//! Boa agent: same behaviour as qjs-agent, and the same engine setup as
//! agents/js-runner (Context::default, recursion limit 2000,
//! Module::parse + load_link_evaluate + run_jobs, JSON via the intrinsics).
wit_bindgen::generate!({ world: "agent", path: "../../../../agents/wit" });

#[path = "../../script.rs"]
mod script;

use agentdeck::agent::log;
use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsError, JsResult, JsString, JsValue, Module, NativeFunction, Source, js_string};

struct Agent;

fn err(code: &str, message: String) -> AgentError {
    AgentError { code: code.into(), message, line: None, column: None }
}

fn console_log(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let mut line = String::new();
    for a in args {
        line.push_str(&a.to_string(context)?.to_std_string_escaped());
    }
    log::log(log::Level::Info, &line);
    Ok(JsValue::undefined())
}

fn settle(value: JsValue, context: &mut Context) -> JsResult<JsValue> {
    let Some(promise) = value.as_promise() else { return Ok(value) };
    context.run_jobs()?;
    match promise.state() {
        PromiseState::Fulfilled(v) => Ok(v),
        PromiseState::Rejected(r) => Err(JsError::from_opaque(r)),
        PromiseState::Pending => Err(boa_engine::JsNativeError::error().with_message("never settled").into()),
    }
}

fn run_in(input: &str, context: &mut Context) -> JsResult<String> {
    let module = Module::parse(Source::from_bytes(script::SCRIPT.as_bytes()), None, context)?;
    let loaded = module.load_link_evaluate(context);
    settle(loaded.into(), context)?;
    let run = module.namespace(context).get(js_string!("default"), context)?;
    let run = run.as_callable().ok_or_else(|| boa_engine::JsNativeError::typ().with_message("no default export"))?;
    let json = context.intrinsics().objects().json();
    let parse = json.get(js_string!("parse"), context)?;
    let stringify = json.get(js_string!("stringify"), context)?;
    let input = parse.as_callable().expect("JSON.parse").call(&json.clone().into(), &[JsString::from(input).into()], context)?;
    let output = run.call(&JsValue::undefined(), &[input], context)?;
    let output = settle(output, context)?;
    let text = stringify.as_callable().expect("JSON.stringify").call(&json.into(), &[output], context)?;
    if text.is_undefined() {
        return Ok("null".into());
    }
    Ok(text.to_string(context)?.to_std_string_escaped())
}

impl Guest for Agent {
    fn run(input: String) -> Result<String, AgentError> {
        let mut context = Context::default();
        context.runtime_limits_mut().set_recursion_limit(2_000);
        let console = ObjectInitializer::new(&mut context)
            .function(NativeFunction::from_fn_ptr(console_log), js_string!("log"), 0)
            .build();
        let _ = context.register_global_property(js_string!("console"), console, Attribute::all());
        run_in(&input, &mut context).map_err(|e| err("exception", e.to_string()))
    }
}

export!(Agent);
