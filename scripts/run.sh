#!/usr/bin/env bash
# `make run`: installs what is missing, builds the release frontend and
# server, and starts Agentdeck (http://127.0.0.1:3000 unless AGENTDECK_ADDR
# says otherwise). Without DATABASE_URL it runs a private PostgreSQL in
# AGENTDECK_DATA_DIR (default ./.agentdeck).

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scripts/setup.sh run

step "building the web app (trunk build --release)"
trunk build --release --offline

step "building the server (cargo build --release)"
cargo build --release --locked -p server

step "starting Agentdeck"
export AGENTDECK_DIST_DIR="${AGENTDECK_DIST_DIR:-$ROOT/dist}"
exec "$CARGO_TARGET_DIR/release/server"
