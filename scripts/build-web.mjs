// `node scripts/build-web.mjs [dev]`: builds the web app into dist/ (or
// AGENTDECK_DIST_DIR). What Trunk did for us, without installing Trunk:
//
//   1. build-split.mjs   the WASM app split per route, content-hashed, and the
//                        preload hints and start script for <head>
//   2. here              style/main.css (minified) and public/favicon.svg under
//                        content-hashed names, index.html from frontend/
//      and the API reference (/docs/api): redoc's standalone bundle from
//      npm and its start script, content-hashed, named in api-reference.html
//   3. build-embed.mjs   web embeds: embed.js and the frame page it opens
//      build-editor.mjs  the code editor's bundle, named in index.html, then
//                        precompress.mjs (.br and .gz beside every asset)
//   4. here              the staging directory replaces dist/ in one rename
//
// `dev` builds the WASM app in cargo's dev profile, unoptimised and not
// minified (quicker to build, much larger to load).
// Tools on PATH: cargo, wasm-split-cli, wasm-bindgen, wasm-opt; esbuild from npm.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { transformSync } from "esbuild";
import { cargoArgs, refuseToReplace, wasmOf } from "./web-common.mjs";

const root = resolve(import.meta.dirname, "..");
const profile = process.argv[2] === "dev" ? "dev" : "release";
const release = profile === "release";
const dist = resolve(root, process.env.AGENTDECK_DIST_DIR || "dist");
const staging = `${dist}.staging`;
const publicUrl = "/";
const started = Date.now();
const say = (what) => console.error(`build-web.mjs [${((Date.now() - started) / 1000).toFixed(0)}s]: ${what}`);

const wasmProfile = release ? "wasm-release" : "dev";
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");

// Before any work: neither may be anything but an earlier build.
try {
  refuseToReplace(dist, root);
  refuseToReplace(staging, root);
} catch (error) {
  console.error(`build-web.mjs: ${error.message}`);
  process.exit(1);
}

say(`cargo: the WASM app (${wasmProfile} profile; minutes the first time, seconds when nothing changed)`);
execFileSync("cargo", cargoArgs(wasmProfile), { stdio: ["ignore", "inherit", "inherit"], cwd: root });

// Skipped when nothing it is made of changed since dist/ was built: the
// module cargo left, the page's sources, the editor's packages, the embed's
// sources and these scripts.
const inputs = createHash("sha256").update(profile);
const scripts = readdirSync(join(root, "scripts")).filter((name) => name.endsWith(".mjs")).sort();
const embed = readdirSync(join(root, "embed"), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(root.length + 1))
  .sort();
for (const file of [
  wasmOf(targetDir, wasmProfile), "style/main.css", "public/favicon.svg", "frontend/index.html",
  "editor/main.js", ...embed, "package-lock.json", ...scripts.map((name) => `scripts/${name}`),
]) {
  inputs.update(file).update(readFileSync(resolve(root, file)));
}
const fingerprint = inputs.digest("hex");
const stamp = join(dist, ".inputs");
if (existsSync(stamp) && readFileSync(stamp, "utf8") === fingerprint) {
  say(`${dist} is up to date (built from these very inputs)`);
  process.exit(0);
}

rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
// Marks it as ours while it is half built (see refuseToReplace).
writeFileSync(join(staging, ".staging"), "");
const env = {
  ...process.env, WEB_STAGING_DIR: staging, WEB_PUBLIC_URL: publicUrl, WEB_PROFILE: profile, WEB_CARGO_DONE: "1",
};
const node = (script) =>
  execFileSync(process.execPath, [join(root, "scripts", script)], { stdio: ["ignore", "inherit", "inherit"], cwd: root, env });

say("wasm-split, wasm-bindgen and wasm-opt on each module (about a minute)");
node("build-split.mjs");

// Content-hashed names (16 hex digits): the server serves them immutable.
const hashed = (file, bytes) => {
  const name = basename(file);
  const dot = name.lastIndexOf(".");
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const out = `${name.slice(0, dot)}-${digest}${name.slice(dot)}`;
  writeFileSync(join(staging, out), bytes);
  return `${publicUrl}${out}`;
};
let css = readFileSync(join(root, "style/main.css"), "utf8");
if (release) css = transformSync(css, { loader: "css", minify: true, legalComments: "none" }).code;
const stylesheet = hashed("main.css", Buffer.from(css));
const icon = hashed("favicon.svg", readFileSync(join(root, "public/favicon.svg")));

say("index.html");
let html = readFileSync(join(root, "frontend/index.html"), "utf8")
  .replace(/<!--[\s\S]*?-->/g, "")
  .replace(
    "</head>",
    `<link rel="stylesheet" href="${stylesheet}"><link rel="icon" href="${icon}" type="image/svg+xml"></head>`,
  );
if (release) html = html.replace(/>\s+</g, "><").trim();
writeFileSync(join(staging, "index.html"), html);

say("the API reference page (redoc)");
// Served by the server at /docs/api with its own Content-Security-Policy
// (server/src/docs.rs): redoc renders /api/v1/openapi.json in the page.
// Its one outside URL, the Redocly logo beside its "API docs by Redocly"
// credit, which the page's policy would block: an empty image instead.
const redocLogo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const redocBundle = readFileSync(join(root, "node_modules/redoc/bundles/redoc.standalone.js"), "utf8");
if (!redocBundle.includes(redocLogo)) throw new Error(`redoc's bundle no longer names ${redocLogo}: check it for outside URLs`);
const redoc = hashed(
  "redoc.standalone.js",
  Buffer.from(redocBundle.replaceAll(redocLogo, "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E")),
);
const start = hashed(
  "api-reference.js",
  Buffer.from(
    'Redoc.init("/api/v1/openapi.json", { hideDownloadButton: false, expandResponses: "200,201,202",' +
      ' theme: { colors: { primary: { main: "#4f46e5" } } } }, document.getElementById("reference"));\n',
  ),
);
writeFileSync(
  join(staging, "api-reference.html"),
  `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>Agentdeck API reference</title><link rel="icon" href="${icon}" type="image/svg+xml">` +
    `<style>body{margin:0}</style></head><body><div id="reference"></div>` +
    `<script src="${redoc}"></script><script src="${start}"></script></body></html>`,
);

say("web embeds (embed.js and its frame page)");
node("build-embed.mjs");

say("the code editor's bundle and compressed copies");
node("build-editor.mjs");

if (!existsSync(join(staging, "index.html"))) throw new Error("no index.html was built");
writeFileSync(join(staging, ".inputs"), fingerprint);
rmSync(join(staging, ".staging"));
refuseToReplace(dist, root);
rmSync(dist, { recursive: true, force: true });
renameSync(staging, dist);
say(`done: ${dist}`);

