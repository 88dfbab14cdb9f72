// Step 3 of scripts/build-web.mjs: bundles the code editor (editor/main.js,
// CodeMirror) into editor-<hash>.js in the staging directory, names it in
// index.html (<meta name="agentdeck-editor">) so the app can import it when
// the editor page needs it, puts build-split.mjs's <head> part in, then runs
// precompress.mjs (after the bundle, which it compresses too).
//
// Also runs on its own: `node scripts/build-editor.mjs <dir>` writes the
// bundle into <dir> (no index.html, no compression), e.g. for a quick look at
// its size.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const staging = process.env.WEB_STAGING_DIR;
const outDir = staging ?? process.argv[2];
if (!outDir) {
  console.error("build-editor.mjs runs from build-web.mjs (WEB_STAGING_DIR is unset) or with an output directory");
  process.exit(1);
}

const result = await build({
  entryPoints: [join(root, "editor/main.js")],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  // CodeMirror's packages have no side effects at import; this lets the
  // bundler drop what editor/main.js does not use.
  treeShaking: true,
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const code = result.outputFiles[0].contents;

// 16 hex digits, like every hashed name, so the server serves it immutable.
const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
const name = `editor-${hash}.js`;
writeFileSync(join(outDir, name), code);

if (staging) {
  const index = join(staging, "index.html");
  const html = readFileSync(index, "utf8");
  const publicUrl = process.env.WEB_PUBLIC_URL ?? "/";
  const meta = `<meta name="agentdeck-editor" content="${publicUrl}${name}">`;
  // Early in the head, after the character set (which must come first).
  const head = /<meta charset[^>]*>/i.exec(html) ?? /<head(?:\s[^>]*)?>/i.exec(html);
  if (!head) {
    console.error("build-editor.mjs: found no <head> or <meta charset> in index.html");
    process.exit(1);
  }
  const at = head.index + head[0].length;
  // The split WASM build (build-split.mjs) leaves its preload hints and
  // start script in split-head.html.
  const splitHead = join(staging, "split-head.html");
  let extra = "";
  if (existsSync(splitHead)) {
    extra = readFileSync(splitHead, "utf8");
    rmSync(splitHead);
  }
  const rest = html.slice(at);
  writeFileSync(index, html.slice(0, at) + meta + extra + rest);

  await import("./precompress.mjs");
}
console.error(`build-editor.mjs: ${name} (${code.length} bytes)`);
