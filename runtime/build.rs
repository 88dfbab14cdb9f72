//! Builds the guests in `agents/` (the JavaScript runner, the example Rust
//! agent and the test probe) for wasm32-wasip2 with the same cargo, and tells
//! the crate where they are: the runner is embedded in the sandbox, the
//! others are used by tests and benchmarks. They build in their own target
//! directory next to this build's, so they are built once per machine and
//! rebuilt only when their sources change.

#![allow(clippy::expect_used)] // A build script fails by panicking, with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUESTS: [(&str, &str, &str); 3] = [
    ("js-runner", "js_runner", "AGENTDECK_JS_RUNNER_WASM"),
    ("rust-echo", "rust_echo", "AGENTDECK_RUST_ECHO_WASM"),
    ("probe", "probe", "AGENTDECK_PROBE_WASM"),
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let agents = manifest_dir.join("..").join("agents");
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "wit",
        "js-runner",
        "probe",
        "examples/rust-echo",
    ] {
        println!("cargo:rerun-if-changed={}", agents.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=AGENTDECK_GUEST_TARGET_DIR");

    let target_dir = guest_target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&agents)
        .args([
            "build",
            "--locked",
            "--release",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        command.args(["-p", package]);
    }
    // The outer build's flags and wrappers (clippy's, coverage's) are for
    // the host crates, not the guests.
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(variable);
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "building the guests in agents/ failed (they need the wasm32-wasip2 target: `rustup target add wasm32-wasip2`)"
    );
    // Tests and benchmarks keep compiled components here, next to the guests.
    println!(
        "cargo:rustc-env=AGENTDECK_TEST_CACHE_DIR={}",
        target_dir.join("cwasm").display()
    );
    for (_, file, variable) in GUESTS {
        let path = target_dir
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{file}.wasm"));
        assert!(path.exists(), "{} was not built", path.display());
        println!("cargo:rustc-env={variable}={}", path.display());
    }
}

/// `<target>/agentdeck-guests`, where `<target>` holds this build's profile
/// directories; OUT_DIR is `<target>/[<triple>/]<profile>/build/<pkg>/out`.
fn guest_target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AGENTDECK_GUEST_TARGET_DIR") {
        // Absolute, so the nested cargo (in agents/) and include_bytes! (in
        // runtime/src) agree on it.
        return std::path::absolute(dir).expect("the guest target directory has a usable path");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(Path::parent)
        .expect("OUT_DIR is inside a build directory");
    let mut target_dir = profile_dir.parent().unwrap_or(profile_dir);
    // With an explicit --target, profiles sit under <target>/<triple>/.
    if let Ok(triple) = std::env::var("TARGET")
        && target_dir
            .file_name()
            .is_some_and(|name| name == triple.as_str())
    {
        target_dir = target_dir.parent().unwrap_or(target_dir);
    }
    target_dir.join("agentdeck-guests")
}
