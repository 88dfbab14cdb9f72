// What build-web.mjs and build-split.mjs share: the one cargo build of the
// WASM app and where it leaves the module.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve, sep } from "node:path";

// The relocations let wasm-split rebuild the call graph; they are link
// arguments of the final crate only, so the dependencies' builds are reused
// as they are.
export const cargoArgs = (profile) => [
  "rustc", "--locked", "--offline", "--package", "frontend", "--bin", "frontend",
  "--target", "wasm32-unknown-unknown", "--profile", profile,
  "--", "-Clink-args=--emit-relocs",
];

export const wasmOf = (targetDir, profile) =>
  join(targetDir, "wasm32-unknown-unknown", profile === "dev" ? "debug" : profile, "frontend.wasm");

// dist/ and its staging directory (dist.staging) are replaced whole: never
// a directory that is not an earlier web build or staging directory (a
// mistyped AGENTDECK_DIST_DIR naming the checkout, a home or a site's
// root, or whatever sits beside it under the name with .staging). Throws
// with the reason.
export function refuseToReplace(dir, root) {
  dir = resolve(dir);
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  const holds = (outer, inner) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  const earlierBuild = entries.length === 0 || [".inputs", ".staging", "index.html"].some((mark) => entries.includes(mark));
  if (holds(dir, resolve(root)) || entries.includes(".git") || !earlierBuild) {
    throw new Error(
      `refusing to replace ${dir}: it is not an earlier web build (set AGENTDECK_DIST_DIR to a directory of its own)`,
    );
  }
}
