// The credits journey in headless Chromium against the real server and a
// stand-in payment provider: an author publishes a paid agent; a user sees
// its price where runs start, runs it, finds the charges on the wallet page
// (balance, usage chart by agent, history, CSV export), caps the
// deployment's monthly spend from its page, buys credits
// through the provider's checkout and comes back to them credited; the
// author sees the earnings.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { journey } from "./harness.mjs";
import { ECHO, publishAgent, signUp } from "./agents.mjs";
import { FakeStripe } from "./stripe.mjs";

const TIMEOUT = 30_000;

describe("Agentdeck credits", () => {
  const stripe = new FakeStripe();
  const e2e = journey({ standIns: [stripe], env: () => stripe.env() });

  before(() => {
    stripe.appUrl = e2e.server.url;
  });

  test("prices where runs start, charges on the wallet page, a CSV export, and buying credits through checkout", async () => {
    const authorContext = await e2e.browser.newContext();
    const author = await authorContext.newPage();
    author.setDefaultTimeout(TIMEOUT);
    await signUp(author, e2e.server, "Ada Lovelace", "ada@example.com");
    const slug = await publishAgent(author, e2e.server.url, "Paid Echo", ECHO, { price_credits: 5 });

    const context = await e2e.browser.newContext({ acceptDownloads: true });
    const p = await context.newPage();
    p.setDefaultTimeout(TIMEOUT);
    const errors = [];
    p.on("pageerror", (e) => errors.push(e));
    await signUp(p, e2e.server, "Bob Byte", "bob@example.com");

    // The price is stated where a run can start.
    await p.goto(`${e2e.server.url}/agents/${slug}`);
    assert.match(await p.getByTestId("deploy-price").innerText(), /5 credits a run, charged only when it succeeds/);
    assert.match(await p.getByTestId("try-price").innerText(), /A try costs 5 credits, like a deployed run/);
    await p.getByRole("button", { name: "Run for 5 credits" }).waitFor();

    // Deploy and run three times (through the API, with this session).
    const me = await (await p.request.get(e2e.server.url + "/api/v1/me")).json();
    const headers = { "x-csrf-token": me.csrf_token };
    const created = await p.request.post(e2e.server.url + "/api/v1/deployments", { headers, data: { agent: slug } });
    assert.equal(created.status(), 202, await created.text());
    const { id } = await created.json();
    for (let i = 0; i < 200; i++) {
      const shown = await (await p.request.get(`${e2e.server.url}/api/v1/deployments/${id}`)).json();
      if (shown.status === "running") break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    await p.goto(`${e2e.server.url}/deployments/${id}`);
    assert.match(await p.getByTestId("run-price").innerText(), /5 credits a run/);
    for (let i = 0; i < 3; i++) {
      const run = await p.request.post(`${e2e.server.url}/api/v1/deployments/${id}/runs`, {
        headers,
        data: { input: { name: `Run ${i}` } },
      });
      assert.equal(run.status(), 200, await run.text());
      assert.equal((await run.json()).charged_credits, 5);
    }

    // A monthly cap on the deployment, set from its page, stops the next run.
    await p.getByTestId("spend-cap-input").fill("15");
    await p.getByTestId("spend-cap-save").click();
    await p.getByTestId("spend-cap").filter({ hasText: "15 of 15 credits spent this month" }).waitFor();
    const refused = await p.request.post(`${e2e.server.url}/api/v1/deployments/${id}/runs`, {
      headers,
      data: { input: { name: "One more" } },
    });
    assert.equal(refused.status(), 402);
    const body = await refused.json();
    assert.equal(body.error.code, "spend_cap_reached");
    assert.equal(body.error.field, "deployment.spend_cap_credits");

    // The wallet page, from the user menu.
    await p.getByTestId("user-menu").getByRole("button").click();
    await p.getByTestId("wallet-link").click();
    await p.waitForURL(/\/wallet$/);
    await p.getByTestId("balance").filter({ hasText: "85" }).waitFor();
    assert.equal(await p.getByTestId("held").innerText(), "0");
    const spent = p.getByTestId("chart-spent");
    await spent.waitFor();
    assert.equal(await spent.getAttribute("data-total"), "15");
    assert.equal(await spent.locator("rect.bar").count(), 1, "one day with charges");
    assert.equal(await spent.locator('tr[data-agent="Paid Echo"] td').nth(1).innerText(), "3");
    // Starter, then per run a hold (two lines) and a charge.
    await p.getByTestId("ledger-line").nth(9).waitFor();
    assert.equal(await p.getByTestId("ledger-line").count(), 10);
    assert.equal(await p.locator('[data-testid="ledger-line"][data-kind="settle"]').count(), 3);

    const [download] = await Promise.all([
      p.waitForEvent("download"),
      p.getByTestId("export-csv").click(),
    ]);
    assert.equal(download.suggestedFilename(), "agentdeck-ledger-bob.csv");
    const csv = readFileSync(await download.path(), "utf8").trim().split("\r\n");
    assert.equal(csv[0], "transaction,entry,at,kind,account,amount,memo,run,agent");
    assert.equal(csv.length, 11);
    assert.equal(csv.filter((line) => line.includes(",settle,held,-5,")).length, 3);

    // Buy 1,000 credits: to the provider's page, pay, and back credited.
    await p.getByLabel("Credits").fill("1000");
    assert.equal(await p.getByTestId("top-up-price").innerText(), "$10.00");
    await p.getByRole("button", { name: "Buy" }).click();
    await p.waitForURL(/\/pay\/cs_test_/);
    await p.getByRole("button", { name: "Pay $10.00" }).click();
    await p.waitForURL(/\/wallet\?workspace=bob&checkout=/);
    await p.getByTestId("checkout-status").filter({ hasText: "Payment received: 1000 credits added." }).waitFor();
    await p.getByTestId("balance").filter({ hasText: "1085" }).waitFor();
    assert.deepEqual(stripe.deliveries.map((d) => d.status), [200]);
    await p.locator('[data-testid="ledger-line"][data-kind="purchase"]').waitFor();

    // The author's wallet: 4 of each 5 credits, three times.
    await author.goto(`${e2e.server.url}/wallet`);
    await author.getByTestId("earnings").filter({ hasText: "12" }).waitFor();
    const earned = author.getByTestId("chart-earned");
    await earned.waitFor();
    assert.equal(await earned.getAttribute("data-total"), "12");

    assert.deepEqual(errors, []);
    await context.close();
    await authorContext.close();
  });
});
