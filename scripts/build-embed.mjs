// Web embeds, browser side (embed/): step 3 of scripts/build-web.mjs, before
// build-editor.mjs so that its precompress.mjs covers these files too.
// Writes into the staging directory:
//
//   embed.js                   embed/launcher.js, the script customers' sites
//                              include by URL: a fixed name, served with a
//                              short cache, not immutable
//   embed-frame-<hash>.js      embed/frame/main.js and its modules
//   embed-frame-<hash>.css     embed/frame/style.css
//   embed.html                 embed/frame/index.html naming those two; the
//                              server serves it at /embed/<id>
//
// Both bundles are one function expression each (no globals on the
// customer's page), minified for ES2019. The build fails when a file is over
// its budget, brotli-compressed: embed.js 10 KB (every page of a customer's
// site loads it), the frame (page, script, styles) 60 KB.
//
// Also runs on its own: `node scripts/build-embed.mjs <dir>` writes the same
// files into <dir> and prints their sizes.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliCompressSync, constants } from "node:zlib";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const LAUNCHER_BUDGET = 10 * 1024;
const FRAME_BUDGET = 60 * 1024;

const brotli = (bytes) =>
  brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;

async function bundle(entry) {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    format: "iife",
    minify: true,
    target: "es2019",
    legalComments: "none",
    write: false,
    logLevel: "warning",
  });
  return Buffer.from(result.outputFiles[0].contents);
}

// 16 hex digits, like every hashed name, so the server serves it immutable.
const hashedName = (stem, ext, bytes) =>
  `${stem}-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${ext}`;

/**
 * Builds the embed's files into `outDir` (names under `publicUrl` in the
 * page) and returns them as [{name, bytes, brotli}]; throws when one is over
 * its budget, before writing anything.
 */
export async function buildEmbed(outDir, publicUrl = "/") {
  const launcher = await bundle("embed/launcher.js");
  const script = await bundle("embed/frame/main.js");
  const style = await bundle("embed/frame/style.css");
  const scriptName = hashedName("embed-frame", "js", script);
  const styleName = hashedName("embed-frame", "css", style);

  const template = readFileSync(join(root, "embed/frame/index.html"), "utf8");
  for (const slot of ['href="STYLESHEET"', 'src="SCRIPT"']) {
    if (!template.includes(slot)) throw new Error(`embed/frame/index.html has no ${slot}`);
  }
  const html = Buffer.from(
    template
      .replace(/<!--[\s\S]*?-->/g, "")
      .replace(/>\s+</g, "><")
      .trim()
      .replace('href="STYLESHEET"', `href="${publicUrl}${styleName}"`)
      .replace('src="SCRIPT"', `src="${publicUrl}${scriptName}"`),
  );

  const files = [
    ["embed.js", launcher],
    [scriptName, script],
    [styleName, style],
    ["embed.html", html],
  ].map(([name, bytes]) => ({ name, bytes, brotli: brotli(bytes) }));

  const over = [];
  const launcherSize = files[0].brotli;
  if (launcherSize > LAUNCHER_BUDGET) over.push(`embed.js is ${launcherSize} bytes brotli, over its ${LAUNCHER_BUDGET}`);
  const frameSize = files.slice(1).reduce((sum, file) => sum + file.brotli, 0);
  if (frameSize > FRAME_BUDGET) over.push(`the frame is ${frameSize} bytes brotli, over its ${FRAME_BUDGET}`);
  if (over.length) throw new Error(`over budget: ${over.join("; ")}`);

  mkdirSync(outDir, { recursive: true });
  for (const { name, bytes } of files) writeFileSync(join(outDir, name), bytes);
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.env.WEB_STAGING_DIR ?? process.argv[2];
  if (!outDir) {
    console.error("build-embed.mjs runs from build-web.mjs (WEB_STAGING_DIR is unset) or with an output directory");
    process.exit(1);
  }
  try {
    const files = await buildEmbed(outDir, process.env.WEB_PUBLIC_URL ?? "/");
    const frame = files.slice(1).reduce((sum, file) => sum + file.brotli, 0);
    for (const { name, bytes, brotli: compressed } of files) {
      console.error(`build-embed.mjs: ${name.padEnd(32)} ${String(bytes.length).padStart(7)} bytes, ${String(compressed).padStart(6)} brotli`);
    }
    console.error(
      `build-embed.mjs: launcher ${files[0].brotli} of ${LAUNCHER_BUDGET}, frame ${frame} of ${FRAME_BUDGET} bytes brotli`,
    );
  } catch (error) {
    console.error(`build-embed.mjs: ${error.message}`);
    process.exit(1);
  }
}
