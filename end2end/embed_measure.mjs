// Measures a web embed in headless Chromium against the real server: the
// launcher's and the frame's sizes as built (brotli -q 11, against their
// budgets), the time from the snippet's script tag starting to load to the
// launcher shown, and from Send to the answer shown, over N cold visits
// (a fresh browser context each, so nothing is cached) of a page on a
// local origin the embed allows.
//
//   node end2end/embed_measure.mjs [runs]     (after `make run`'s builds)
//
// The server binary is `AGENTDECK_SERVER_BIN` (the release build by
// default), the web build `AGENTDECK_DIST_DIR` (dist/).

import { createServer } from "node:http";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { Server, distDir, freePort, launchBrowser, makeDataDir, removeDataDir, serverBin } from "./harness.mjs";
import { apiAccount, callApi, deployAgent } from "./agents.mjs";

const runs = Number(process.argv[2] ?? 15);
const CHAT = `export default async function run(input) {
  return { answer: "Echo: " + input.message };
}
`;

const brotli = (bytes) =>
  brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

function sizes() {
  const read = (name) => readFileSync(join(distDir, name));
  const frame = readdirSync(distDir).filter((name) => /^embed-frame-[0-9a-f]{16}\.(js|css)$/.test(name));
  const launcher = read("embed.js");
  const frameFiles = ["embed.html", ...frame];
  return {
    launcher: { raw: launcher.length, brotli: brotli(launcher) },
    frame: frameFiles.reduce(
      (total, name) => {
        const bytes = read(name);
        return { raw: total.raw + bytes.length, brotli: total.brotli + brotli(bytes) };
      },
      { raw: 0, brotli: 0 },
    ),
  };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const dataDir = makeDataDir();
const server = new Server(dataDir, await freePort());
await server.start();
const browser = await launchBrowser();
const port = await freePort();
const origin = `http://localhost:${port}`;
let site;
try {
  const { key } = await apiAccount(server, "measure@example.com", ["agents:write", "deployments:write", "runs:write"]);
  const { id } = await deployAgent(server, key, { name: "Measured", source: CHAT });
  const { embed } = await callApi(server, key, "POST", `/deployments/${id}/embeds`, {
    name: "Measured", allowed_origins: [origin], development: true,
    // Every visit is a new visitor from this one address.
    per_visitor_minute: 60, per_embed_minute: 6000,
  });
  site = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1>${embed.snippet}</body></html>`);
  });
  await new Promise((ok) => site.listen(port, "localhost", ok));

  const launcher = [];
  const answer = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    // Listening before the page's own scripts run.
    await context.addInitScript(() => {
      document.addEventListener("agentdeck:embed-ready", (event) => {
        window.__embedReady = event.detail;
      }, { once: true });
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.__embedReady);
    launcher.push(await page.evaluate(() => {
      const script = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/embed.js"));
      return window.__embedReady.at - script.startTime;
    }));
    await page.locator("[data-agentdeck-launcher]").click();
    const frame = page.frameLocator("agentdeck-embed iframe");
    await frame.locator("[data-input]").fill(`hello ${i}`);
    const sent = performance.now();
    await frame.locator("[data-send]").click();
    await frame.locator('[data-role="assistant"]', { hasText: `Echo: hello ${i}` }).waitFor();
    answer.push(performance.now() - sent);
    await context.close();
  }
  const { launcher: l, frame: f } = sizes();
  console.log(`server: ${serverBin}`);
  console.log("| what | raw bytes | brotli -q 11 | budget |");
  console.log("| --- | ---: | ---: | ---: |");
  console.log(`| embed.js (the launcher) | ${l.raw} | ${l.brotli} | 10,240 |`);
  console.log(`| the frame (embed.html, its JS and CSS) | ${f.raw} | ${f.brotli} | 61,440 |`);
  console.log("");
  console.log(`${runs} cold visits, ms | p50 | p90 | max |`);
  console.log("| --- | ---: | ---: | ---: |");
  const row = (what, values) =>
    console.log(`| ${what} | ${percentile(values, 0.5).toFixed(0)} | ${percentile(values, 0.9).toFixed(0)} | ${Math.max(...values).toFixed(0)} |`);
  row("script tag to launcher shown", launcher);
  row("Send to answer shown", answer);
} finally {
  site?.close();
  await browser.close();
  await server.stop();
  removeDataDir(dataDir);
}
