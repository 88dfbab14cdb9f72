#!/usr/bin/env bash
# `make test`: every check CI runs, in order of cost. Installs what is missing
# first. Each step prints the seconds elapsed so slow steps show.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scripts/setup.sh test
prune_target_when_low

# The Python the tests start their SMTP server with (aiosmtpd, installed
# into this virtualenv by setup.sh): both cargo test and the journeys.
export AGENTDECK_TEST_PYTHON="$TEST_VENV/bin/python"

step "cargo fmt --check"
cargo fmt --all --check
cargo fmt --all --check --manifest-path agents/Cargo.toml

step "the build scripts' own tests (node --test scripts/*.test.mjs)"
node --test scripts/*.test.mjs

step "clippy, server side (ssr): types, service, runtime, server, app, cli"
cargo clippy --locked -p types -p service -p runtime -p server -p app -p cli --all-targets -- -D warnings

step "clippy, the sandbox's guests (wasm32-wasip2)"
# Next to the ones runtime/build.rs builds them in (one per checkout):
# clippy writes no guest files another build could take for its own.
cargo clippy --locked --manifest-path agents/Cargo.toml --target wasm32-wasip2 \
    --target-dir "$CARGO_TARGET_DIR/agentdeck-guests" -- -D warnings

step "clippy, WASM side (csr)"
cargo clippy --locked -p frontend -p app -p types --target wasm32-unknown-unknown -- -D warnings

step "the crate arrows: server -> service -> {types, runtime}; runtime -> types; app -> types"
# Cargo refuses circles; these catch the arrows that would not be circles.
# $1 crate, $2 extra cargo tree arguments, $3 what must not appear.
refuse() {
    local found
    found="$(cargo tree --locked -p "$1" $2 -e normal --prefix none |
        grep -E "^($3) " | sort -u || true)"
    [[ -z "$found" ]] || die "$1 depends on what it must not:
$found"
}
# The browser build of the app sees no service layer, database or sandbox.
refuse frontend "--target wasm32-unknown-unknown" \
    'service|runtime|diesel|diesel-async|diesel_migrations|tokio|tokio-postgres|wasmtime|wasmtime-wasi'
refuse app "--target wasm32-unknown-unknown --features csr" \
    'service|runtime|diesel|tokio-postgres|wasmtime'
# The shared types, without their server feature, are plain data.
refuse types "" 'service|runtime|app|diesel|tokio|leptos|axum|wasmtime'
# The sandbox knows nothing of the database, the web or the service layer.
refuse runtime "" 'service|app|server|diesel|diesel-async|leptos|leptos_axum'
# The service layer knows nothing of the web framework or the pages.
refuse service "" 'app|server|leptos|leptos_axum|axum'

# What cargo test builds and what `make run` builds (cargo build -p server)
# must resolve every crate with the same features, or make run after make
# test compiles them again.
tested=(-p types -p service -p runtime -p server -p app -p cli)
step "make run's server is the one make test builds (every crate with the same features)"
graph() { cargo tree --locked "$@" -f '{p} [{f}]' --prefix none | sed 's/ (\*)$//' | sort -u; }
run_graph="$(graph -p server -e no-dev)"
test_graph="$(graph "${tested[@]}")"
differ="$(comm -23 <(echo "$run_graph") <(echo "$test_graph"))"
[[ -z "$differ" ]] || die "cargo build -p server (make run) would compile these again after make test, with other features:
$differ
Ask for the same features in server/Cargo.toml (see the comment there)."

step "unit and integration tests (real PostgreSQL, HTTP, WebSocket, wasmtime sandboxes)"
cargo test --locked "${tested[@]}"

step "the web app, release build (node scripts/build-web.mjs)"
AGENTDECK_DIST_DIR="$ROOT/dist" node scripts/build-web.mjs

step "browser tests (Playwright, headless Chromium)"
# The dev-profile server cargo test just built, the one `make run` starts:
# the browser tests check behaviour, not speed.
AGENTDECK_SERVER_BIN="$CARGO_TARGET_DIR/debug/server" AGENTDECK_CLI_BIN="$CARGO_TARGET_DIR/debug/agentdeck" \
    AGENTDECK_DIST_DIR="$ROOT/dist" node --test --test-concurrency=1 end2end/*.test.mjs

step "all checks passed"
