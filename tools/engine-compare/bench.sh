#!/bin/sh
# 2,000 runs per component, input {}; prints a TSV table.
cd "$(dirname "$0")"
echo "# load before: $(cat /proc/loadavg)"
for v in qjs qjs-s boa boa-s; do
  "${CARGO_TARGET_DIR:-$HOME/.cache/agentdeck/engine-compare}/release/engine-compare-host" --runs 2000 $v-trivial=out/$v-trivial.wasm $v-cpu=out/$v-cpu.wasm | sed "1{/^name/!p;}" | { [ $v = qjs ] && cat || grep -v '^name'; }
done
echo "# load after: $(cat /proc/loadavg)"
