#!/usr/bin/env bash
# Installs what building, running and testing Agentdeck need, and only what
# is missing: the rustup wasm targets, the wasm-bindgen CLI matching the crate
# and wasm-split-cli (from crates.io), wasm-opt, esbuild and playwright-core
# (from npm), PostgreSQL server
# binaries and, for tests, Chromium (from Debian) and the aiosmtpd SMTP server
# and Schemathesis (from PyPI, into a virtualenv). Says what it does.
#
#   scripts/setup.sh run    what `make run` needs
#   scripts/setup.sh test   what `make test` needs (adds Chromium, aiosmtpd, Schemathesis)

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purpose="${1:-run}"
[[ "$purpose" == run || "$purpose" == test ]] || die "usage: scripts/setup.sh run|test"

have() { command -v "$1" >/dev/null 2>&1; }

# --- Debian packages -------------------------------------------------------

apt_updated=false
apt_install() {
    local packages=("$@")
    local runner=()
    if [[ $EUID -ne 0 ]]; then
        if have sudo && sudo -n true 2>/dev/null; then
            runner=(sudo)
        else
            die "missing Debian packages: ${packages[*]}. Install them with
    sudo apt-get install -y ${packages[*]}
and run this again."
        fi
    fi
    have apt-get || die "missing system packages: ${packages[*]} (no apt-get here; install them with your package manager)"
    if ! $apt_updated; then
        say "apt-get update (to install ${packages[*]})"
        "${runner[@]}" apt-get update -qq
        apt_updated=true
    fi
    say "installing Debian packages: ${packages[*]}"
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

postgres_binaries() {
    if [[ -n "${AGENTDECK_PG_BIN:-}" ]]; then
        [[ -x "$AGENTDECK_PG_BIN/postgres" ]]
        return
    fi
    compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || have postgres
}

if [[ -z "${DATABASE_URL:-}" ]] && ! postgres_binaries; then
    say "PostgreSQL server binaries not found; the embedded database needs them (or set DATABASE_URL)"
    apt_install postgresql
fi

if [[ "$purpose" == test ]]; then
    missing=()
    [[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]] || missing+=(chromium)
    # Seeded agents use emoji icons; without a font, screenshots show boxes.
    [[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || missing+=(fonts-noto-color-emoji)
    # The tests' SMTP server lives in a virtualenv (below): Python 3 with its
    # venv module and ensurepip (Debian keeps those in python3-venv).
    have python3 || missing+=(python3)
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi
fi

# --- Python tools (tests) ---------------------------------------------------

# From PyPI into one virtualenv, each reused while it holds its pinned version:
# - aiosmtpd: the SMTP server the integration tests and browser journeys send
#   mail to (they start it themselves as `$AGENTDECK_TEST_PYTHON -m aiosmtpd`);
# - Schemathesis: the contract tests of the OpenAPI document
#   (end2end/contract.test.mjs runs `$TEST_VENV/bin/schemathesis`).
venv_version() {
    "$TEST_VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null
}
venv_install() {
    local package="$1" version="$2" why="$3"
    [[ "$(venv_version "$package")" == "$version" ]] && return
    say "installing $package $version ($why) from PyPI into the virtualenv $TEST_VENV"
    # A virtualenv whose Python or pip no longer works (its Python was
    # upgraded or removed) is made anew.
    if ! "$TEST_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        mkdir -p "$(dirname "$TEST_VENV")"
        python3 -m venv --clear "$TEST_VENV"
    fi
    "$TEST_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        "$package==$version"
    [[ "$(venv_version "$package")" == "$version" ]] ||
        die "$package $version did not install into $TEST_VENV"
}
if [[ "$purpose" == test ]]; then
    venv_install aiosmtpd "$AIOSMTPD_VERSION" "the tests' SMTP server"
    venv_install schemathesis "$SCHEMATHESIS_VERSION" "the API's contract tests"
fi

# --- Rust toolchain pieces -------------------------------------------------

have cargo || die "cargo not found: install Rust with rustup (https://rustup.rs) first"

if have rustup; then
    installed_targets="$(rustup target list --installed)"
    # wasm32-unknown-unknown for the web app, wasm32-wasip2 for the agent
    # sandbox's guests (the JavaScript runner and the example agents).
    for target in wasm32-unknown-unknown wasm32-wasip2; do
        if ! grep -qx "$target" <<<"$installed_targets"; then
            say "adding the rustup target $target"
            rustup target add "$target"
        fi
    done
    if [[ "$purpose" == test ]]; then
        components="$(rustup component list --installed)"
        for component in rustfmt clippy; do
            if ! grep -q "^$component" <<<"$components"; then
                say "adding the rustup component $component"
                rustup component add "$component"
            fi
        done
    fi
else
    for target in wasm32-unknown-unknown wasm32-wasip2; do
        [[ -d "$(rustc --print target-libdir --target "$target" 2>/dev/null)" ]] ||
            die "the $target target is missing and rustup is not available to add it"
    done
fi

[[ -n "$WASM_BINDGEN_VERSION" ]] || die "found no wasm-bindgen in Cargo.lock"

if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
    # Not --locked: its lock file names a crate version crates.io lacks.
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 5 minutes the first time)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi

# wasm-split between cargo and wasm-bindgen (scripts/build-split.mjs): its
# format must match the wasm_split_helpers crate that leptos pulls in
# (Cargo.lock); 0.2.4 reads what wasm_split_helpers 0.2.3 writes.
WASM_SPLIT_VERSION="0.2.4"
if ! cargo install --list 2>/dev/null | grep -q "^wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    say "installing wasm-split-cli (wasm_split_cli_support $WASM_SPLIT_VERSION) from crates.io (about 3 minutes the first time)"
    cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary --locked --quiet
fi

# --- npm tools -------------------------------------------------------------

have npm || die "npm not found: install Node.js 20 or newer (Debian: apt-get install nodejs npm)"
stamp="node_modules/.package-lock.json"
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
    say "installing npm tools (wasm-opt from binaryen, playwright-core) with npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

# The web build (scripts/build-web.mjs) runs cargo --offline, so every
# dependency (all targets) must already be here.
cargo fetch --locked --quiet
# The sandbox's guests (agents/) are a workspace of their own.
cargo fetch --locked --quiet --manifest-path agents/Cargo.toml
