#!/usr/bin/env bash
# `make test`: every check CI runs, in order of cost. Installs what is missing
# first. Each step prints the seconds elapsed so slow steps show.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scripts/setup.sh test

step "cargo fmt --check"
cargo fmt --all --check
cargo fmt --all --check --manifest-path agents/Cargo.toml

step "clippy, server side (ssr) and the agent sandbox"
cargo clippy --locked -p server -p app -p runtime --all-targets -- -D warnings

step "clippy, the sandbox's guests (wasm32-wasip2)"
# Same target directory runtime/build.rs builds them in.
cargo clippy --locked --manifest-path agents/Cargo.toml --target wasm32-wasip2 \
    --target-dir "$CARGO_TARGET_DIR/agentdeck-guests" -- -D warnings

step "clippy, WASM side (csr)"
cargo clippy --locked -p frontend -p app --target wasm32-unknown-unknown -- -D warnings

step "the WASM dependency tree has no diesel, tokio or wasmtime"
forbidden="$(cargo tree --locked -p frontend --target wasm32-unknown-unknown -e normal --prefix none |
    grep -E '^(diesel|diesel-async|diesel_migrations|tokio|wasmtime)[ -]' | sort -u || true)"
[[ -z "$forbidden" ]] || die "server-only crates reached the WASM build:
$forbidden"

step "unit and integration tests (real PostgreSQL, HTTP, WebSocket, wasmtime sandboxes)"
cargo test --locked -p server -p app -p runtime

step "release frontend build (trunk build --release)"
trunk build --release --offline

step "browser tests (Playwright, headless Chromium)"
# The debug server cargo test just built: the browser tests check behaviour,
# not speed, and this saves a release build.
AGENTDECK_SERVER_BIN="$CARGO_TARGET_DIR/debug/server" AGENTDECK_DIST_DIR="$ROOT/dist" \
    node --test --test-concurrency=1 end2end/*.test.mjs

step "all checks passed"
