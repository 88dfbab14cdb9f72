// What build-web.mjs and build-split.mjs share: the one cargo build of the
// WASM app and where it leaves the module.

import { join } from "node:path";

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
