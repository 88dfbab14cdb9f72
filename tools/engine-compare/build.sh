#!/bin/sh
# Builds every guest variant into out/ and the host. Needs Debian clang-16,
# lld-16, llvm-16, libclang-rt-16-dev-wasm32 and wasi-libc for QuickJS.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentdeck/engine-compare}"
# rquickjs-sys would otherwise curl wasi-sdk 24 from GitHub; use Debian clang-16 + wasi-libc instead.
export RQUICKJS_SYS_NO_WASI_SDK=1 CC_wasm32_wasip2=clang-16 AR_wasm32_wasip2=llvm-ar-16
export CFLAGS_wasm32_wasip2="--target=wasm32-wasi --sysroot=/usr"
mkdir -p "$here/out"
cd "$here/guests"
for profile in release release-s; do
  for engine in qjs boa; do
    for script in trivial cpu coverage deep; do
      [ $profile = release-s ] && { [ $script = coverage ] || [ $script = deep ]; } && continue
      cargo build --profile $profile --target wasm32-wasip2 -p $engine-agent --features script-$script
      suffix=; [ $profile = release-s ] && suffix=-s
      cp $CARGO_TARGET_DIR/wasm32-wasip2/$profile/${engine}_agent.wasm "$here/out/$engine$suffix-$script.wasm"
    done
  done
done
cd "$here/host" && cargo build --release
