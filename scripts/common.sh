# Shared by scripts/*.sh: where things live, messages, and the pinned tool
# versions. Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Build output lives outside the clone so fresh clones reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdeck/target}"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Tool pins. The wasm-bindgen CLI must be exactly the crate's version in
# Cargo.lock (the glue and the module must agree).
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"

# The SMTP server the tests send mail to (aiosmtpd, from PyPI), in a
# virtualenv of its own that fresh clones reuse. The tests start it as
# `$AGENTDECK_TEST_PYTHON -m aiosmtpd ...`; test.sh exports that variable.
AIOSMTPD_VERSION="1.4.6"
TEST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/venv"

STARTED_AT=$SECONDS

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
step() { printf '\033[1;34m==>\033[0m [%4ss] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
