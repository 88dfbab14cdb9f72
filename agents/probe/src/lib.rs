//! A test agent for the sandbox's own tests and benchmarks. Its input is a
//! JSON string naming what to do, `"op"` or `"op:argument"`; several ops
//! misbehave on purpose (spin forever, allocate without end, recurse without
//! end, answer with a huge output, flood the log) and the others report what
//! the sandbox lets a component see (files, environment, clock, network,
//! memory a run before left).

wit_bindgen::generate!({ world: "agent", path: "../wit" });

use agentdeck::agent::types::CapabilityError;
use agentdeck::agent::{config, http, kv, llm, log};
use std::hint::black_box;

struct Probe;

impl Guest for Probe {
    fn run(input: String) -> Result<String, AgentError> {
        let command = input.trim().trim_matches('"');
        let (op, argument) = command.split_once(':').unwrap_or((command, ""));
        let number = || argument.parse::<u64>().unwrap_or(0);
        match op {
            "echo" => Ok(input),
            "cpu" => Ok(cpu(number()).to_string()),
            "spin" => spin(),
            "alloc" => alloc(),
            "residue" => Ok(residue().to_string()),
            "recurse" => Ok(recurse(black_box(1)).to_string()),
            "output" => Ok(json_string(&"x".repeat(number() as usize))),
            "log-flood" => {
                let line = "y".repeat(1024);
                for _ in 0..number() {
                    log::log(log::Level::Info, &line);
                }
                Ok("\"flooded\"".into())
            }
            "print-flood" => {
                let line = "p".repeat(1024);
                for _ in 0..number() {
                    println!("{line}");
                }
                Ok("\"printed\"".into())
            }
            "stdout" => {
                println!("to stdout");
                eprintln!("to stderr");
                Ok("\"printed\"".into())
            }
            "files" => Ok(json_string(&files())),
            "env" => {
                let vars = std::env::vars().count();
                let args = std::env::args().count();
                let cwd = std::env::current_dir().is_ok();
                Ok(format!(r#"{{"vars":{vars},"args":{args},"cwd":{cwd}}}"#))
            }
            "clock" => Ok(clock()),
            "http" => Ok(capability(
                http::fetch(&http::Request {
                    method: "GET".into(),
                    url: argument.into(),
                    headers: Vec::new(),
                    body: None,
                })
                .map(|response| format!("{} {}", response.status, response.body)),
            )),
            "llm" => Ok(capability(
                llm::complete(&llm::Request {
                    messages: vec![llm::Message {
                        role: "user".into(),
                        content: argument.into(),
                    }],
                    model: None,
                    temperature: None,
                    max_tokens: None,
                })
                .map(|completion| completion.content),
            )),
            "kv" => Ok(capability(
                kv::get(argument).map(|value| format!("{value:?}")),
            )),
            "config" => Ok(capability(
                config::get(argument).map(|value| format!("{value:?}")),
            )),
            "panic" => panic!("the probe was asked to panic"),
            "fail" => Err(AgentError {
                code: "failed".into(),
                message: argument.into(),
                line: None,
                column: None,
            }),
            _ => Err(AgentError {
                code: "invalid-input".into(),
                message: format!("unknown op {op:?}"),
                line: None,
                column: None,
            }),
        }
    }
}

/// A CPU-bound loop whose result depends on every step (xorshift).
fn cpu(iterations: u64) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..iterations {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
    }
    state
}

fn spin() -> ! {
    let mut counter = 0_u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn alloc() -> Result<String, AgentError> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used.
        blocks.push(vec![1_u8; 1 << 20]);
        black_box(&blocks);
    }
}

/// Marked memory of a run before: how many bytes are not as the module
/// starts them, of a data segment (0x5A), of zeroed statics and of 8 MiB of
/// newly grown memory (past the part of a slot kept resident, so both ways
/// a slot is reset are seen), before this run marks them all for the next
/// to find.
fn residue() -> usize {
    static mut DATA: [u8; 8 << 10] = [0x5A; 8 << 10];
    static mut ZEROED: [u8; 64 << 10] = [0; 64 << 10];
    const PAGES: usize = 128;
    // SAFETY: the probe runs one call at a time, and no reference to
    // either static lives past this function.
    let data = unsafe { &mut *std::ptr::addr_of_mut!(DATA) };
    let zeroed = unsafe { &mut *std::ptr::addr_of_mut!(ZEROED) };
    let mut seen = data.iter().filter(|&&byte| byte != 0x5A).count()
        + zeroed.iter().filter(|&&byte| byte != 0).count();
    data.fill(0xA5);
    zeroed.fill(0xA5);
    #[cfg(target_arch = "wasm32")]
    {
        let first = core::arch::wasm32::memory_grow(0, PAGES);
        assert_ne!(first, usize::MAX, "memory grows");
        // SAFETY: the pages were just grown, and nothing else uses them.
        let grown =
            unsafe { std::slice::from_raw_parts_mut((first * 65_536) as *mut u8, PAGES * 65_536) };
        seen += grown.iter().filter(|&&byte| byte != 0).count();
        grown.fill(0xA5);
    }
    black_box(seen)
}

/// Recursion on the WebAssembly stack itself (scalars only, so nothing goes
/// to the shadow stack in linear memory), with work after the call so it
/// cannot become a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_mul(31).wrapping_add(depth)
}

fn files() -> String {
    let mut seen = Vec::new();
    for path in ["/etc/passwd", "/proc/self/environ", ".", "/"] {
        let result = match std::fs::read_dir(path) {
            Ok(entries) => format!("listed {} entries", entries.count()),
            Err(_) => match std::fs::read(path) {
                Ok(bytes) => format!("read {} bytes", bytes.len()),
                Err(error) => format!("error: {error}"),
            },
        };
        seen.push(format!("{path}: {result}"));
    }
    seen.join("; ")
}

fn clock() -> String {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    let start = std::time::Instant::now();
    black_box(cpu(10_000));
    let elapsed = start.elapsed().as_nanos();
    format!(
        r#"{{"wall_sub_ms_ns":{},"elapsed_sub_ms_ns":{}}}"#,
        wall % 1_000_000,
        elapsed % 1_000_000
    )
}

fn capability<T: ToString>(result: Result<T, CapabilityError>) -> String {
    json_string(&match result {
        Ok(value) => format!("ok: {}", value.to_string()),
        Err(CapabilityError::Denied(message)) => format!("denied: {message}"),
        Err(CapabilityError::Invalid(message)) => format!("invalid: {message}"),
        Err(CapabilityError::Limit(message)) => format!("limit: {message}"),
        Err(CapabilityError::Failed(message)) => format!("failed: {message}"),
    })
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

export!(Probe);
