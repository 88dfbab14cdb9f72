// Step 1 of scripts/build-web.mjs: builds the WASM app split per route
// (Leptos lazy routes) into the staging directory.
//
//   cargo rustc (wasm-release, --emit-relocs)      -> frontend.wasm
//   wasm-split-cli (wasm_split_cli_support 0.2.4)  -> main + split_*/chunk_* + __wasm_split.js
//   wasm-bindgen --target web --keep-lld-exports   -> frontend.js + frontend_bg.wasm
//   wasm-opt -Oz on the main module and every chunk
//   content hashes in every name, esbuild minify for the JS,
//   and split-head.html (put into index.html's <head> by build-editor.mjs)
//   that preloads and starts the main module.
//
// Also runs on its own: `node scripts/build-split.mjs <dir>`.
// Tools on PATH: cargo, wasm-split-cli, wasm-bindgen, wasm-opt; esbuild from npm.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { transformSync } from "esbuild";
import { cargoArgs, wasmOf } from "./web-common.mjs";

const root = resolve(import.meta.dirname, "..");
const outDir = process.env.WEB_STAGING_DIR ?? process.argv[2];
if (!outDir) {
  console.error("build-split.mjs runs from build-web.mjs (WEB_STAGING_DIR is unset) or with an output directory");
  process.exit(1);
}
const release = (process.env.WEB_PROFILE ?? "release") === "release";
const profile = release ? "wasm-release" : "dev";
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const publicUrl = process.env.WEB_PUBLIC_URL ?? "/";
const work = join(targetDir, "wasm-split-out");

function run(cmd, args, opts = {}) {
  console.error(`build-split.mjs: ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: root, ...opts });
}
const hash16 = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);

// The wasm-bindgen CLI must be exactly the crate's version (Cargo.lock), or
// the glue and the module disagree.
const locked = /name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(readFileSync(join(root, "Cargo.lock"), "utf8"))?.[1];
const cli = execFileSync("wasm-bindgen", ["--version"], { encoding: "utf8" }).trim();
if (!locked || cli !== `wasm-bindgen ${locked}`) {
  console.error(`build-split.mjs: ${cli} on PATH, but Cargo.lock has wasm-bindgen ${locked}: run scripts/setup.sh`);
  process.exit(1);
}

// 1. cargo (web-common.mjs), unless build-web.mjs has run it already.
if (process.env.WEB_CARGO_DONE !== "1") run("cargo", cargoArgs(profile));
const input = wasmOf(targetDir, profile);

// 2. wasm-split: main module (still to go through wasm-bindgen), the chunks
// and __wasm_split.js, which imports initSync from ./frontend.js.
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "split"), { recursive: true });
run("wasm-split-cli", [input, join(work, "split"), "--target", "web", "--out-name", "frontend"]);

// 3. wasm-bindgen on the main module only; the chunks share its memory,
// table and exports through __wasm_split.js.
run("wasm-bindgen", [
  "--target", "web", "--keep-lld-exports", "--no-demangle", "--no-typescript",
  "--out-dir", join(work, "bindgen"), "--out-name", "frontend", join(work, "split", "frontend.wasm"),
]);

// 4. wasm-opt on every module.
const modules = [["frontend_bg.wasm", join(work, "bindgen", "frontend_bg.wasm")]];
for (const name of readdirSync(join(work, "split"))) {
  if (name.endsWith(".wasm") && name !== "frontend.wasm") modules.push([name, join(work, "split", name)]);
}
if (release) {
  for (const [, path] of modules) {
    run("wasm-opt", ["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int",
      "--enable-reference-types", "--enable-sign-ext", "--enable-multivalue",
      path, "-o", path]);
  }
}

// 5. Content-hashed names. The chunks first; __wasm_split.js names them and
// imports ./frontend.js, which imports ./__wasm_split.js back: the loader's
// name hashes its own text and the glue's (with the loader's name left out),
// then the glue is named after its final text.
const minify = (code) => (release ? transformSync(code, { minify: true, format: "esm", target: "es2020", legalComments: "none" }).code : code);
const written = [];
const mainWasm = readFileSync(modules[0][1]);
const mainHash = hash16(mainWasm);
const mainWasmName = `frontend-${mainHash}_bg.wasm`;
writeFileSync(join(outDir, mainWasmName), mainWasm);
written.push([mainWasmName, mainWasm.length]);
// A chunk links against one build of the main module (its table slots,
// memory addresses and exports), so its name hashes both.
const names = new Map();
for (const [name, path] of modules) {
  if (name === "frontend_bg.wasm") continue;
  const bytes = readFileSync(path);
  const hashed = `${name.replace(/\.wasm$/, "")}-${hash16(Buffer.concat([bytes, Buffer.from(mainHash)]))}.wasm`;
  writeFileSync(join(outDir, hashed), bytes);
  names.set(name, hashed);
  written.push([hashed, bytes.length]);
}

// inline_js snippets of wasm-bindgen (unhashed names).
cpSync(join(work, "bindgen", "snippets"), join(outDir, "snippets"), { recursive: true });
const snippets = readdirSync(join(work, "bindgen", "snippets"), { recursive: true })
  .filter((path) => path.endsWith(".js"))
  .map((path) => `snippets/${path.split("\\").join("/")}`);

let loader = readFileSync(join(work, "split", "__wasm_split.js"), "utf8");
for (const [name, hashed] of names) loader = loader.replaceAll(`"./${name}"`, `"./${hashed}"`);
let glue = readFileSync(join(work, "bindgen", "frontend.js"), "utf8");
if (!glue.includes('from "./__wasm_split.js"')) throw new Error("the glue does not import ./__wasm_split.js");
const loaderName = `__wasm_split-${hash16(loader + "\0" + glue)}.js`;
// Only the ES imports: the keys of the imports object stay the module name
// the WASM imports from.
glue = minify(glue.replaceAll('from "./__wasm_split.js"', `from "./${loaderName}"`));
const glueName = `frontend-${hash16(glue)}.js`;
loader = minify(loader.replaceAll('"./frontend.js"', `"./${glueName}"`));
writeFileSync(join(outDir, glueName), glue);
writeFileSync(join(outDir, loaderName), loader);
written.push([glueName, glue.length], [loaderName, loader.length]);

// 6. What index.html needs, for build-editor.mjs to put into <head>:
// preload hints and the start script.
writeFileSync(join(outDir, "split-head.html"),
  `<link rel="modulepreload" href="${publicUrl}${glueName}" crossorigin>` +
  `<link rel="modulepreload" href="${publicUrl}${loaderName}" crossorigin>` +
  snippets.map((path) => `<link rel="modulepreload" href="${publicUrl}${path}" crossorigin>`).join("") +
  `<link rel="preload" href="${publicUrl}${mainWasmName}" as="fetch" type="application/wasm" crossorigin>` +
  `<script type="module">import init, * as bindings from "${publicUrl}${glueName}";` +
  `const wasm = await init({ module_or_path: "${publicUrl}${mainWasmName}" });` +
  `window.wasmBindings = bindings;` +
  `dispatchEvent(new CustomEvent("AgentdeckStarted", { detail: { wasm } }));</script>`);
for (const [name, size] of written) console.error(`build-split.mjs: ${name} ${size} bytes`);
