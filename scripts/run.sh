#!/usr/bin/env bash
# `make run`: installs what is missing, builds the web app and the server, and
# starts Agentdeck (http://127.0.0.1:3000 unless AGENTDECK_ADDR says
# otherwise). Without DATABASE_URL it runs a private PostgreSQL in
# AGENTDECK_DATA_DIR (default ./.agentdeck).
#
# The server is built in cargo's dev profile, the one `make test` builds, so
# `make run` after `make test` compiles nothing again (the hashing and the
# sandbox's compiler are optimised even there: [profile.dev.package.*] in
# Cargo.toml). AGENTDECK_RELEASE=1 builds the release profile instead: what
# a production host runs and what the benchmarks measure, a build of its own
# that takes longer.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${AGENTDECK_RELEASE:-}" in
    "" | 0 | 1) ;;
    *) die "AGENTDECK_RELEASE must be 1 (the release build), 0 or unset, not \"$AGENTDECK_RELEASE\"" ;;
esac

scripts/setup.sh run
prune_target_when_low

export AGENTDECK_DIST_DIR="${AGENTDECK_DIST_DIR:-$ROOT/dist}"

step "building the web app (node scripts/build-web.mjs; a few minutes the first time, seconds when nothing changed)"
node scripts/build-web.mjs

if [[ "${AGENTDECK_RELEASE:-}" == 1 ]]; then
    step "building the server (cargo build --release; 10 to 15 minutes the first time)"
    cargo build --release --locked -p server --bin server
    server="$CARGO_TARGET_DIR/release/server"
else
    step "building the server (cargo build, the profile make test shares; 5 to 10 minutes the first time, seconds after make test)"
    cargo build --locked -p server --bin server
    server="$CARGO_TARGET_DIR/debug/server"
fi

step "starting Agentdeck"
exec "$server"
