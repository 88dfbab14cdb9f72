# Shared by scripts/*.sh: where things live, messages, and the pinned tool
# versions. Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Build output lives outside the clone so fresh clones reuse it.
DEFAULT_TARGET_DIR="$HOME/.cache/agentdeck/target"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$DEFAULT_TARGET_DIR}"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Tool pins. The wasm-bindgen CLI must be exactly the crate's version in
# Cargo.lock (the glue and the module must agree).
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"

# The SMTP server the tests send mail to (aiosmtpd, from PyPI), in a
# virtualenv of its own that fresh clones reuse. The tests start it as
# `$AGENTDECK_TEST_PYTHON -m aiosmtpd ...`; test.sh exports that variable.
AIOSMTPD_VERSION="1.4.6"
# The contract tests of the OpenAPI document (end2end/contract.test.mjs).
SCHEMATHESIS_VERSION="4.32.5"
TEST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/venv"

STARTED_AT=$SECONDS

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
step() { printf '\033[1;34m==>\033[0m [%4ss] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The shared target directory grows with every build (each changed crate
# leaves its old artifacts and incremental state beside the new), and a
# build that fills the disk dies with a bus error in the linker. Below
# AGENTDECK_MIN_FREE_GB (default 15) free, this removes the incremental
# state (only recompilation speed depends on it), then the release profile
# (the benchmarks'), each only while no build holds it (cargo's own lock),
# and only in the default target directory: one you chose is yours to
# prune.
prune_target_when_low() {
    local min_gb="${AGENTDECK_MIN_FREE_GB:-15}" dir profile
    free_gb() { echo $(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print $4 }') / 1024 / 1024 )); }
    [[ -d "$CARGO_TARGET_DIR" ]] || return 0
    (( $(free_gb) < min_gb )) || return 0
    if [[ "$CARGO_TARGET_DIR" != "$DEFAULT_TARGET_DIR" ]]; then
        say "only $(free_gb) GB free for $CARGO_TARGET_DIR; builds may fail when the disk fills (it is yours: not pruned)"
        return 0
    fi
    for dir in "$CARGO_TARGET_DIR"/*/ "$CARGO_TARGET_DIR"/*/*/; do
        [[ -d "$dir/incremental" && -e "$dir/.cargo-lock" ]] || continue
        (( $(free_gb) < min_gb )) || return 0
        say "only $(free_gb) GB free: removing ${dir}incremental (recompiles get slower, nothing else)"
        flock -n "$dir/.cargo-lock" rm -rf "$dir/incremental" || say "a build is using $dir: left as it is"
    done
    profile="$CARGO_TARGET_DIR/release"
    if [[ -e "$profile/.cargo-lock" ]] && (( $(free_gb) < min_gb )); then
        say "only $(free_gb) GB free: removing $profile (the benchmarks' release build)"
        flock -n "$profile/.cargo-lock" rm -rf "$profile" || say "a build is using $profile: left as it is"
    fi
    (( $(free_gb) >= min_gb )) || say "still only $(free_gb) GB free for $CARGO_TARGET_DIR: builds may fail when the disk fills"
}
