# Shared by scripts/*.sh: where things live, messages, and the pinned tool
# versions. Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Build output lives outside the clone so fresh clones reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdeck/target}"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Trunk must never reach beyond the package registries.
export TRUNK_SKIP_VERSION_CHECK=true

# Tool pins. wasm-bindgen must equal the crate version in Cargo.lock; Trunk.toml
# names the same version, and setup.sh checks that all three agree.
TRUNK_VERSION="0.21.14"
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm_bindgen *= *"\(.*\)"/\1/p' Trunk.toml)"

# The SMTP server the tests send mail to (aiosmtpd, from PyPI), in a
# virtualenv of its own that fresh clones reuse. The tests start it as
# `$AGENTDECK_TEST_PYTHON -m aiosmtpd ...`; test.sh exports that variable.
AIOSMTPD_VERSION="1.4.6"
TEST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/venv"

STARTED_AT=$SECONDS

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
step() { printf '\033[1;34m==>\033[0m [%4ss] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
