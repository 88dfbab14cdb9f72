//! Minimal QuickJS-ng (rquickjs) component: evaluates a script, returns the
//! result coerced to a string, or the exception's message.
wit_bindgen::generate!({
    inline: r#"
        package probe:qjs;
        world runner {
            export eval: func(src: string) -> result<string, string>;
        }
    "#,
});

use rquickjs::{Coerced, Context, Runtime};

struct Runner;

impl Guest for Runner {
    fn eval(src: String) -> Result<String, String> {
        if src == "__std" {
            return Ok(std_check());
        }
        let rt = Runtime::new().map_err(|e| format!("runtime: {e}"))?;
        rt.set_memory_limit(64 << 20);
        let ctx = Context::full(&rt).map_err(|e| format!("context: {e}"))?;
        ctx.with(|ctx| match ctx.eval::<Coerced<String>, _>(src) {
            Ok(s) => Ok(s.0),
            Err(e) => {
                let exc = ctx.catch();
                let msg = exc
                    .as_exception()
                    .map(|x| format!("{}: {}", x.message().unwrap_or_default(), x.stack().unwrap_or_default()))
                    .unwrap_or_else(|| format!("{exc:?}"));
                Err(format!("{e}: {msg}"))
            }
        })
    }
}

export!(Runner);

/// Exercises the parts of Rust's std that go through libc on wasm32-wasip2.
fn std_check() -> String {
    use std::io::Write;
    println!("stdout from Rust std");
    eprintln!("stderr from Rust std");
    std::io::stdout().flush().ok();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let start = std::time::Instant::now();
    let mut map = std::collections::HashMap::new();
    map.insert("k", 1);
    let elapsed = start.elapsed();
    let args = std::env::args().count();
    let vars = std::env::vars().count();
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|e| format!("err {e}"));
    let file = std::fs::read("/etc/passwd").map(|b| b.len().to_string()).unwrap_or_else(|e| format!("err {e}"));
    format!("unix_secs={now} instant_ok={} map={} args={args} vars={vars} cwd={cwd} fs={file}", elapsed.as_nanos() < 10_000_000_000, map.len())
}
