// The WASM app is split per route area (scripts/build-split.mjs): the
// marketplace loads from the main module alone, and the other areas fetch
// their own pieces when first visited.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";

const TIMEOUT = 30_000;

describe("Agentdeck split build", () => {
  const e2e = journey();

  test("the marketplace needs only the main module; other areas load theirs on the way", async () => {
    const page = await (await e2e.browser.newContext()).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    const wasm = [];
    page.on("request", (r) => {
      const path = new URL(r.url()).pathname;
      if (path.endsWith(".wasm")) wasm.push(path);
    });

    await page.goto(e2e.server.url + "/");
    await page.getByTestId("agent-card").nth(11).waitFor();
    assert.equal(wasm.length, 1, `one module for the marketplace, got ${wasm}`);
    assert.match(wasm[0], /^\/frontend-[0-9a-f]{16}_bg\.wasm$/);

    // Client-side navigation to an agent page fetches the browse area.
    await page.getByTestId("agent-card").filter({ hasText: "SEO Specialist" }).click();
    await page.getByTestId("agent-name").getByText("SEO Specialist").waitFor();
    const browse = wasm.slice(1);
    assert.ok(browse.some((path) => /^\/split_/.test(path)), `the browse area's module: ${browse}`);

    // Sign-in lives in another area, fetched when first shown.
    const before = wasm.length;
    await page.getByRole("link", { name: "Sign in" }).first().click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    assert.ok(wasm.length > before, "the account area's module");
    assert.deepEqual(errors, []);
  });
});
