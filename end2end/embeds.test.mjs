// Web embeds in headless Chromium against the real server, on two local
// origins the test serves itself: a shop page on an allowed origin shows the
// launcher, a visitor sends a message and sees the answer arrive live; the
// same snippet on an origin the embed does not allow shows nothing (the
// browser refuses the frame) and direct calls claiming that origin get 403;
// turning the embed off stops the next message. Prints the time from the
// script tag to the launcher and from send to answer (recorded in
// docs/BENCHMARKS.md by end2end/embed_measure.mjs).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { freePort, journey } from "./harness.mjs";
import { apiAccount, callApi, deployAgent } from "./agents.mjs";

const TIMEOUT = 30_000;
const CHAT = `export default async function run(input, ctx) {
  return { answer: "Echo: " + input.message + " (" + ctx.conversation.length + " before)" };
}
`;

/** Opens `url` and waits for the launcher or `wait` ms: the launcher's
 * readiness after the snippet's script began to load, or null. */
async function visit(page, url, wait) {
  await page.goto(url);
  const ready = await page
    .waitForFunction(() => window.__embedReady, null, { timeout: wait })
    .then(() => true, () => false);
  if (!ready) return null;
  return page.evaluate(() => {
    const script = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/embed.js"));
    return { at: window.__embedReady.at, script: script?.startTime ?? 0 };
  });
}

describe("Agentdeck web embeds", () => {
  const e2e = journey();

  test("an allowed site chats live, another site gets nothing, and turning it off stops the next message", async () => {
    const server = e2e.server;
    const { key } = await apiAccount(server, "embed-owner@example.com", ["agents:write", "deployments:write", "runs:read", "runs:write"]);
    const { id: deployment } = await deployAgent(server, key, { name: "Shop helper", source: CHAT });

    // Two local sites; the embed allows the first only.
    const allowed = `http://localhost:${await freePort()}`;
    const other = `http://localhost:${await freePort()}`;
    const made = await callApi(server, key, "POST", `/deployments/${deployment}/embeds`, {
      name: "Shop bubble",
      allowed_origins: [allowed],
      development: true,
      look: { title: "Ask the tea shop", greeting: "Hello! Ask me about tea." },
    });
    const embed = made.embed;
    const shop = await site(allowed, embed.snippet);
    const elsewhere = await site(other, embed.snippet);

    const context = await e2e.browser.newContext();
    // Listening before the page's own scripts run.
    await context.addInitScript(() => {
      document.addEventListener("agentdeck:embed-ready", (event) => {
        window.__embedReady = event.detail;
      }, { once: true });
    });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));

    // The allowed site: the launcher comes, the panel opens, a message is
    // answered live.
    const ready = await visit(page, shop.origin + "/", TIMEOUT);
    assert.ok(ready, "the launcher appears on the allowed site");
    console.log(`embeds: script tag to launcher ${(ready.at - ready.script).toFixed(0)} ms`);
    await page.locator("[data-agentdeck-launcher]").click();
    const frame = page.frameLocator("agentdeck-embed iframe");
    await frame.getByText("Hello! Ask me about tea.").waitFor();
    await frame.locator("[data-input]").fill("hello");
    const sent = Date.now();
    await frame.locator("[data-send]").click();
    await frame.locator('[data-role="user"]', { hasText: "hello" }).waitFor();
    await frame.locator('[data-role="assistant"]', { hasText: "Echo: hello (0 before)" }).waitFor();
    console.log(`embeds: send to answer shown ${Date.now() - sent} ms`);
    // The second message's run reads the first exchange.
    await frame.locator("[data-input]").fill("more");
    await frame.locator("[data-send]").click();
    await frame.locator('[data-role="assistant"]', { hasText: "Echo: more (2 before)" }).waitFor();

    // The owner's numbers are the runs'.
    const stats = await callApi(server, key, "GET", `/deployments/${deployment}/embeds/${embed.id}/stats?days=1`);
    const runs = await callApi(server, key, "GET", `/deployments/${deployment}/runs`);
    const embedRuns = runs.items.filter((run) => run.trigger === "embed");
    assert.equal(stats.runs, embedRuns.length);
    assert.equal(stats.runs, 2);
    assert.ok(stats.views >= 1, JSON.stringify(stats));

    // The same snippet elsewhere: the browser refuses the frame, so no
    // launcher ever shows; calls claiming that origin are refused.
    const page2 = await context.newPage();
    const refused = await visit(page2, elsewhere.origin + "/", 4_000);
    assert.equal(refused, null, "no launcher on a site the embed does not allow");
    assert.equal(await page2.locator("[data-agentdeck-launcher]").count(), 0);
    const framed = page2.frames().find((f) => f.url().includes(`/embed/${embed.id}`));
    if (framed) {
      const shown = await framed.evaluate(() => document.body?.innerText ?? "").catch(() => "");
      assert.ok(!shown.includes("Ask the tea shop"), "the refused frame shows nothing of the embed");
    }
    for (const [origin, page_origin] of [[other, other], [server.url, other]]) {
      const answer = await fetch(`${server.url}/embed/${embed.id}/session`, {
        method: "POST",
        headers: { "content-type": "application/json", origin },
        body: JSON.stringify({ visitor: "a-visitor-from-elsewhere", page_origin }),
      });
      assert.equal(answer.status, 403, await answer.text());
    }

    // Turned off: the next message is refused, and no run starts.
    const { id: _id, deployment_id: _d, snippet: _s, created_at: _c, updated_at: _u, ...settings } = embed;
    await callApi(server, key, "PUT", `/deployments/${deployment}/embeds/${embed.id}`, { ...settings, enabled: false });
    await frame.locator("[data-input]").fill("still there?");
    await frame.locator("[data-send]").click();
    await frame.locator(".notice", { hasText: "turned off" }).waitFor();
    const after = await callApi(server, key, "GET", `/deployments/${deployment}/runs`);
    assert.equal(after.items.filter((run) => run.trigger === "embed").length, 2);

    assert.deepEqual(errors, []);
    await context.close();
    shop.close();
    elsewhere.close();
  });
});

/** Serves a shop page carrying `snippet` on `origin`
 * (`http://localhost:<port>`). */
async function site(origin, snippet) {
  const port = Number(new URL(origin).port);
  const http = createServer((request, response) => {
    if (request.url !== "/") return response.writeHead(404).end();
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Tea shop</h1><p>Our teas.</p>${snippet}</body></html>`);
  });
  await new Promise((ok) => http.listen(port, "localhost", ok));
  return { origin, close: () => http.close() };
}
