// Last step of scripts/build-editor.mjs: writes .br and .gz beside every compressible asset
// so the server sends them as they are instead of compressing per request.
// Uses Node's zlib (no extra tools). Runs in build-web.mjs's staging directory.

import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.WEB_STAGING_DIR;
if (!dir) {
  console.error("precompress.mjs runs from build-web.mjs (WEB_STAGING_DIR is unset)");
  process.exit(1);
}
// Not .html: index.html is served by the server itself, uncached.
const compressible = /\.(wasm|js|css|svg|json|txt)$/;
const MIN_BYTES = 1024;

function walk(path) {
  for (const name of readdirSync(path)) {
    const file = join(path, name);
    if (statSync(file).isDirectory()) {
      walk(file);
      continue;
    }
    if (!compressible.test(name)) continue;
    const bytes = readFileSync(file);
    if (bytes.length < MIN_BYTES) continue;
    writeFileSync(
      file + ".br",
      brotliCompressSync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
    );
    writeFileSync(file + ".gz", gzipSync(bytes, { level: 9 }));
  }
}

walk(dir);
