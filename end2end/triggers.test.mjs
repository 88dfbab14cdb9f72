// Triggers and webhooks in headless Chromium against the real server: on a
// deployment's page, a schedule is typed (its next runs previewed before it
// is saved) and added, and its next runs are listed; a webhook URL is made
// and called with its curl's URL. In Settings › Webhooks an endpoint (a local
// receiver) is added, a test event is sent, and the delivery shows up in the
// endpoint's log as it happens, answered by the receiver.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { freePort, journey } from "./harness.mjs";
import { ECHO, publishAgent, signUp } from "./agents.mjs";

const TIMEOUT = 30_000;

describe("Agentdeck triggers and webhooks", () => {
  const e2e = journey({ env: { AGENTDECK_WEBHOOKS_PRIVATE: "true" } });

  test("a schedule lists its next runs, a webhook URL runs the agent, and a test event appears in the delivery log live", async () => {
    const received = [];
    const receiver = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        received.push({ id: request.headers["webhook-id"], body });
        response.writeHead(200).end("thanks");
      });
    });
    const port = await freePort();
    await new Promise((ok) => receiver.listen(port, "127.0.0.1", ok));

    const context = await e2e.browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(TIMEOUT);
    const errors = [];
    p.on("pageerror", (e) => errors.push(e));
    await signUp(p, e2e.server, "Ada Lovelace", "ada-triggers@example.com");
    const slug = await publishAgent(p, e2e.server.url, "Nightly Bot", ECHO);
    await p.goto(`${e2e.server.url}/agents/${slug}`);
    await p.getByTestId("deploy").click();
    await p.getByTestId("deploy-progress").locator('[data-testid="deployment-status"][data-status="running"]').waitFor();
    await p.getByTestId("open-deployment").click();
    await p.waitForURL("**/deployments/*");

    // A schedule: the preview follows what is typed, before saving.
    const triggers = p.getByTestId("triggers");
    await triggers.getByTestId("no-schedules").waitFor();
    const form = triggers.getByTestId("schedule-form");
    await form.getByLabel("Name").fill("Weekday mornings");
    await form.getByLabel("Cron (minute hour day month weekday)").fill("61 9 * * *");
    await form.getByTestId("schedule-preview").getByText("outside 0–59").waitFor();
    await form.getByLabel("Cron (minute hour day month weekday)").fill("30 9 * * 1-5");
    await form.getByLabel("Time zone").fill("Europe/Berlin");
    await p.waitForFunction(() => {
      const slots = [...document.querySelectorAll('[data-testid="preview-slot"]')].map((li) => li.textContent);
      return slots.length === 5 && slots.every((s) => /(07|08):30 UTC$/.test(s));
    });
    await form.getByLabel("Input (JSON)").fill('{"name": "scheduler"}');
    await form.getByTestId("add-schedule").click();
    const row = triggers.getByTestId("schedule-row").filter({ hasText: "Weekday mornings" });
    await row.waitFor();
    const next = await row.getByTestId("schedule-next").locator("li").allTextContents();
    assert.equal(next.length, 5, next.join(" | "));
    assert.ok(next.every((slot) => /(07|08):30 UTC$/.test(slot)), next.join(" | "));

    // A webhook URL: shown once, with a curl; calling it runs the agent.
    await triggers.getByTestId("hook-form").getByLabel("Name").fill("From the shop");
    await triggers.getByTestId("add-hook").click();
    const url = (await triggers.getByTestId("hook-url").textContent()).trim();
    assert.match(url, new RegExp(`^${e2e.server.url}/hooks/hk_`));
    assert.ok((await triggers.getByTestId("hook-curl").textContent()).includes(url));
    const called = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "webhook" }),
    });
    assert.equal(called.status, 200, await called.clone().text());
    assert.deepEqual((await called.json()).output, { greeting: "Hello, webhook!" });
    await triggers.getByTestId("hook-row").filter({ hasText: "From the shop" }).waitFor();

    // Settings › Webhooks: an endpoint, a test event, its delivery live.
    await p.goto(`${e2e.server.url}/settings/webhooks`);
    const endpointForm = p.getByTestId("endpoint-form");
    await endpointForm.getByLabel("URL").fill(`http://127.0.0.1:${port}/hooks`);
    await endpointForm.getByTestId("add-endpoint").click();
    const secret = (await p.getByTestId("endpoint-secret").textContent()).trim();
    assert.match(secret, /^whsec_/);
    const endpoint = p.getByTestId("endpoint").filter({ hasText: `127.0.0.1:${port}` });
    await endpoint.getByTestId("delivery-log").waitFor();
    await endpoint.getByTestId("send-test").click();
    // The log is open: the delivery appears and reaches `succeeded` without
    // a reload.
    await endpoint.locator('[data-testid="delivery"][data-state="succeeded"]').waitFor();
    assert.equal(received.length, 1);
    assert.equal(JSON.parse(received[0].body).type, "webhook.test");
    const logged = await endpoint.getByTestId("delivery").first().textContent();
    assert.ok(logged.includes(received[0].id), logged);
    assert.ok(logged.includes("200 in"), logged);

    assert.deepEqual(errors, []);
    receiver.close();
    await context.close();
  });
});
