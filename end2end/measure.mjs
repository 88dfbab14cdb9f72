// Measures the SPA's first load against the real server (release build):
// bytes the first page needs (raw, gzip, brotli, as served) and the time
// from navigation to agents rendered in headless Chromium, median of N cold
// loads (fresh browser context each, so nothing is cached).
//
//   node end2end/measure.mjs [runs]     (after `make run`'s builds)

import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  Server, distDir, freePort, launchBrowser, makeDataDir, removeDataDir,
} from "./harness.mjs";

const runs = Number(process.argv[2] ?? 15);

/** What the first page loads: the app, its glue and wasm-bindgen snippets;
 * not the editor bundle, which only the editor route imports. */
function firstLoadFiles() {
  const files = readdirSync(distDir).filter(
    (file) => /\.(wasm|js|css|html)$/.test(file) && !file.startsWith("editor-"),
  );
  const snippets = join(distDir, "snippets");
  for (const entry of readdirSync(snippets, { recursive: true })) {
    if (String(entry).endsWith(".js")) files.push(join("snippets", String(entry)));
  }
  return files;
}

function sizes() {
  const rows = [];
  for (const file of firstLoadFiles()) {
    const bytes = readFileSync(join(distDir, file));
    rows.push({
      file: file.replace(/-[0-9a-f]{12,16}/, "-<hash>").replace(/snippets\/[^/]+-[0-9a-f]+\//, "snippets/<crate>/"),
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      brotli: brotliCompressSync(bytes, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
      }).length,
    });
  }
  rows.sort((a, b) => b.raw - a.raw);
  const total = rows.reduce(
    (t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
    { raw: 0, gzip: 0, brotli: 0 },
  );
  return { rows, total };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const dataDir = makeDataDir();
const server = new Server(dataDir, await freePort());
await server.start();
const browser = await launchBrowser();
try {
  const timings = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(server.url + "/");
    await page.getByTestId("agent-card").nth(11).waitFor();
    timings.push(Date.now() - started);
    await context.close();
  }
  const { rows, total } = sizes();
  const nav = await (async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url + "/");
    await page.getByTestId("agent-card").nth(11).waitFor();
    const entries = await page.evaluate(() =>
      performance.getEntriesByType("resource").map((e) => ({
        name: e.name.replace(/^.*\//, "").replace(/-[0-9a-f]{16}/, "-<hash>"),
        transfer: e.transferSize,
        body: e.decodedBodySize,
        ms: Math.round(e.duration),
      })),
    );
    const navEntry = await page.evaluate(() => {
      const [n] = performance.getEntriesByType("navigation");
      return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
    });
    await context.close();
    return { entries, navEntry };
  })();

  console.log("## dist/ sizes (bytes)");
  console.log("| file | raw | gzip -9 | brotli -q 11 |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.file} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
  console.log(`| **total** | ${total.raw} | ${total.gzip} | ${total.brotli} |`);
  console.log("");
  console.log("## requests of one load (as served, compressed by the server)");
  console.log("| resource | transferred | decoded | ms |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const e of nav.entries) console.log(`| ${e.name} | ${e.transfer} | ${e.body} | ${e.ms} |`);
  console.log("");
  console.log(`navigation: domContentLoaded ${nav.navEntry.domContentLoaded} ms, load ${nav.navEntry.load} ms`);
  console.log(
    `navigation to 12 agents rendered, ${runs} cold loads: median ${median(timings)} ms, ` +
      `min ${Math.min(...timings)} ms, max ${Math.max(...timings)} ms`,
  );
} finally {
  await browser.close();
  await server.stop();
  removeDataDir(dataDir);
}
