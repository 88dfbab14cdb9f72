// The main journeys of the SPA, in headless Chromium against the real server:
// agents from the database through a server function, navigation to an agent
// page, the 404 page, search kept in the URL, and the live link reconnecting
// across a server restart.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";

const TIMEOUT = 20_000;

describe("Agentdeck SPA", () => {
  const e2e = journey();

  async function page() {
    const context = await e2e.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(e));
    return page;
  }

  test("the marketplace lists seeded agents from the database and the live link connects", async () => {
    const p = await page();
    const response = await p.goto(e2e.server.url + "/");
    assert.equal(response.status(), 200);
    const grid = p.getByTestId("agent-grid");
    await grid.getByText("Content Creator").waitFor();
    await grid.getByText("Data Insights").waitFor();
    assert.equal(await p.getByTestId("agent-card").count(), 12);
    await p.locator('[data-testid="live-indicator"][data-state="connected"]').waitFor();
    assert.deepEqual(p.errors, []);
  });

  test("a card leads to the agent's page", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-card").filter({ hasText: "SEO Specialist" }).click();
    await p.waitForURL("**/agents/seo-specialist");
    await p.getByTestId("agent-name").getByText("SEO Specialist").waitFor();
    await p.getByText("Audits a page for search", { exact: false }).first().waitFor();
    // The launch agents are published as 1.0.0, with what they may do.
    await p.getByRole("link", { name: "1.0.0" }).waitFor();
    await p.getByTestId("capabilities").getByText("Calls a language model", { exact: false }).waitFor();
    // A direct load of the same URL works too (server-side SPA fallback).
    const direct = await p.goto(e2e.server.url + "/agents/seo-specialist");
    assert.equal(direct.status(), 200);
    await p.getByTestId("agent-name").waitFor();
  });

  test("an unknown agent and an unknown page say so", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/agents/no-such-agent");
    await p.getByTestId("agent-not-found").waitFor();
    const response = await p.goto(e2e.server.url + "/definitely/not/here");
    assert.equal(response.status(), 404);
    await p.getByTestId("not-found").waitFor();
  });

  test("search and category filters live in the URL", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-grid").waitFor();
    await p.getByRole("searchbox", { name: "Search agents" }).fill("email");
    await p.getByRole("button", { name: "Search" }).click();
    await p.waitForURL("**/?q=email");
    await p.getByTestId("agent-card").filter({ hasText: "Email Outreach" }).waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid="agent-card"]').length < 12);
    await p.goto(e2e.server.url + "/?category=analytics");
    await p.getByTestId("agent-card").first().waitFor();
    const names = await p.getByTestId("agent-card").locator("h3").allTextContents();
    assert.deepEqual(names.sort(), ["Analytics", "Data Insights"]);
  });

  test("a failed search shows the error, not the previous results, and can be retried", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-grid").getByText("Content Creator").waitFor();
    // The next search fails on the way (the server itself stays healthy).
    await p.route("**/api/fn/list_agents?*", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: JSON.stringify({ code: "unavailable", message: "The service is temporarily unavailable; please retry shortly.", request_id: "0".repeat(32) }),
      }),
    );
    await p.getByRole("searchbox", { name: "Search agents" }).fill("seo");
    await p.getByRole("button", { name: "Search" }).click();
    await p.waitForURL("**/?q=seo");
    const error = p.getByTestId("error-panel");
    await error.getByText("temporarily unavailable").waitFor();
    assert.equal(await p.getByTestId("agent-card").count(), 0);
    await p.unroute("**/api/fn/list_agents?*");
    await error.getByRole("button", { name: "Try again" }).click();
    await p.getByTestId("agent-card").filter({ hasText: "SEO Specialist" }).waitFor();
    const expected = (await (await fetch(e2e.server.url + "/api/v1/agents?q=seo")).json()).items.map((a) => a.name);
    const shown = await p.getByTestId("agent-card").locator("h3").allTextContents();
    assert.deepEqual(shown.sort(), expected.sort());
    assert.ok(expected.length < 12, "the search narrows the list");
  });

  test("search runs as you type, forgives a typo, marks what matched and moves by keys", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-grid").waitFor();
    const box = p.getByRole("searchbox", { name: "Search agents" });
    // Typed letter by letter, never submitted: results follow the typing.
    await box.pressSequentially("slaes", { delay: 60 });
    await p.waitForURL("**/?q=slaes");
    const sales = p.getByTestId("agent-card").filter({ hasText: "Sales Manager" });
    await sales.waitFor();
    const first3 = (await p.getByTestId("agent-card").locator("h3").allTextContents()).slice(0, 3);
    assert.ok(first3.includes("Sales Manager"), `among the first three: ${first3}`);
    assert.equal(await sales.locator("h3 mark").first().textContent(), "Sales", "the word it matched is marked");
    // One history entry per search, not per letter.
    await box.pressSequentially(" man", { delay: 60 });
    await p.waitForURL("**/?q=slaes+man");
    await p.goBack();
    await p.waitForURL((url) => !url.search.includes("slaes"));

    // Arrow keys: from the box to the first card, on to the next, and back.
    await p.goto(e2e.server.url + "/?q=sales");
    await p.getByTestId("agent-card").first().waitFor();
    await box.focus();
    await p.keyboard.press("ArrowDown");
    const focused = () => p.evaluate(() => {
      const el = document.activeElement;
      return el?.dataset?.testid === "agent-card" ? el.querySelector("h3").textContent : el?.getAttribute("name");
    });
    const names = await p.getByTestId("agent-card").locator("h3").allTextContents();
    assert.equal(await focused(), names[0]);
    await p.keyboard.press("ArrowDown");
    assert.equal(await focused(), names[1]);
    await p.keyboard.press("ArrowUp");
    await p.keyboard.press("ArrowUp");
    assert.equal(await focused(), "q", "back in the search box");
    await p.keyboard.press("Escape");
    await p.waitForURL((url) => url.search === "");

    // Nothing found: the nearest known word is offered.
    await box.pressSequentially("strtgy", { delay: 40 });
    const offer = p.getByTestId("did-you-mean");
    await offer.getByRole("link", { name: "strategy" }).click();
    await p.waitForURL("**/?q=strategy");
    await p.getByTestId("agent-card").first().waitFor();
    assert.deepEqual(p.errors, []);
  });

  test("an agent's page has its own title and share tags without JavaScript", async () => {
    const context = await e2e.browser.newContext({ javaScriptEnabled: false });
    const p = await context.newPage();
    const response = await p.goto(e2e.server.url + "/agents/seo-specialist");
    assert.equal(response.status(), 200);
    assert.equal(await p.title(), "SEO Specialist — Agentdeck");
    const meta = (selector) => p.locator(selector).getAttribute("content");
    assert.match(await meta('meta[name="description"]'), /^Audits a page for search/);
    assert.equal(await meta('meta[property="og:title"]'), "SEO Specialist — Agentdeck");
    const image = await meta('meta[property="og:image"]');
    assert.match(image, /\/agents\/seo-specialist\/card\.png\?v=/);
    const card = await p.request.get(image);
    assert.equal(card.headers()["content-type"], "image/png");
    const ld = JSON.parse(await p.locator('script[type="application/ld+json"]').textContent());
    assert.equal(ld["@type"], "SoftwareApplication");
    // Nothing of the SPA ran: the head came from the server.
    assert.equal(await p.locator('[data-testid="agent-name"]').count(), 0);
    await context.close();
  });

  test("the live link shows reconnecting while the server restarts, then connects again", async () => {
    const p = await page();
    await p.goto(e2e.server.url + "/dashboard");
    const connected = p.locator('[data-testid="live-indicator"][data-state="connected"]');
    await connected.waitFor();
    await p.getByTestId("dash-clients").filter({ hasText: /^[1-9]/ }).waitFor();
    await e2e.server.stop();
    await p.locator('[data-testid="live-indicator"][data-state="reconnecting"]').waitFor();
    await e2e.server.start();
    await connected.waitFor({ timeout: 30_000 });
    // The data survived the restart and was not seeded twice.
    await p.goto(e2e.server.url + "/");
    await p.getByTestId("agent-grid").waitFor();
    assert.equal(await p.getByTestId("agent-card").count(), 12);
  });
});
