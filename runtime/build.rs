//! Builds the guests in `agents/` (the JavaScript runner, the example Rust
//! agent and the test probe) for wasm32-wasip2 with the same cargo, and tells
//! the crate where they are: the runner is embedded in the sandbox, the
//! others are used by tests and benchmarks. They build in their own target
//! directory next to this build's, one per checkout, so they are built once
//! per checkout and rebuilt only when their sources change.

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
        "wit-0.1.0",
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
    // Embedded from copies in OUT_DIR, which only this build writes.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (_, file, variable) in GUESTS {
        let built = target_dir
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{file}.wasm"));
        assert!(built.exists(), "{} was not built", built.display());
        let copy = out_dir.join(format!("{file}.wasm"));
        std::fs::copy(&built, &copy).expect("copying a guest into OUT_DIR");
        println!("cargo:rustc-env={variable}={}", copy.display());
    }
}

/// `<target>/agentdeck-guests/<hash of this checkout's agents/ path>`,
/// where `<target>` holds this build's profile
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
    // One per checkout: the guests are cdylibs, whose files cargo does not
    // name by package (so not by path), and two checkouts sharing one
    // target directory (fresh clones, worktrees) would each take the
    // other's for their own, fresh by their own fingerprints.
    let agents = std::fs::canonicalize(
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("..")
            .join("agents"),
    )
    .expect("agents/ exists");
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&agents, &mut hasher);
    target_dir
        .join("agentdeck-guests")
        .join(format!("{:016x}", std::hash::Hasher::finish(&hasher)))
}
