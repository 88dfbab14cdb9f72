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
