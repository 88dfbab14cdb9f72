// The deployment journey in headless Chromium against the real server: an
// author publishes an agent, deploys it from its page and watches the badge
// go queued → building → starting → running without a reload; a second page
// shows the dashboard; a run started from the deployment page's form shows
// up live there, in the run history, the log tail and the metrics; the run
// page has its output and logs. Then the deployment is stopped and started
// again, and a secret and config are saved, all from the page.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { ECHO, publishAgent, signUp, watchBadge } from "./agents.mjs";

const TIMEOUT = 30_000;

describe("Agentdeck deployments", () => {
  const e2e = journey();

  test("deploy from the agent page, watch it come up live, run it, and see the run on a second page's dashboard", async () => {
    const context = await e2e.browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(TIMEOUT);
    const errors = [];
    p.on("pageerror", (e) => errors.push(e));
    await signUp(p, e2e.server, "Grace Hopper", "grace@example.com");
    const slug = await publishAgent(p, e2e.server.url, "Echo Bot", ECHO);

    // Deploy from the agent page; the badge moves without a reload.
    await p.goto(`${e2e.server.url}/agents/${slug}`);
    await p.getByTestId("deploy").waitFor();
    await p.evaluate(() => { window.__sameDocument = true; });
    await watchBadge(p);
    await p.getByTestId("deploy").click();
    const progress = p.getByTestId("deploy-progress");
    await progress.locator('[data-testid="deployment-status"][data-status="running"]').waitFor();
    const badges = await p.evaluate(() => window.__badges.map((b) => b.status));
    assert.deepEqual(badges, ["queued", "building", "starting", "running"]);
    const steps = await progress.getByTestId("deploy-steps").locator("li").evaluateAll(
      (items) => items.map((item) => item.dataset.status),
    );
    assert.deepEqual(steps, ["queued", "building", "starting", "running"]);
    assert.equal(await p.evaluate(() => window.__sameDocument), true, "no reload");

    // A second page watches the dashboard.
    const watcher = await context.newPage();
    watcher.setDefaultTimeout(TIMEOUT);
    watcher.on("pageerror", (e) => errors.push(e));
    await watcher.goto(e2e.server.url + "/dashboard");
    const card = watcher.getByTestId("deployment-card").filter({ hasText: "Echo Bot" });
    await card.locator('[data-testid="deployment-status"][data-status="running"]').waitFor();
    await watcher.locator('[data-testid="live-indicator"][data-state="connected"]').waitFor();
    assert.equal(await watcher.getByTestId("recent-run").count(), 0);
    // The first page in front again: a background page gets no animation
    // frames, which Playwright's clicks wait for.
    await p.bringToFront();

    // The deployment page: run it from the form.
    await progress.getByTestId("open-deployment").click();
    await p.waitForURL("**/deployments/*");
    const deploymentId = p.url().split("/").pop();
    await p.getByTestId("deployment-status").and(p.locator('[data-status="running"]')).waitFor();
    // The timeline fills from the topic's history, which arrives over the
    // live link after the page's first answer.
    await p.getByTestId("timeline").locator('li[data-status="queued"]').waitFor();
    const timeline = await p.getByTestId("timeline").locator("li").evaluateAll(
      (items) => items.map((item) => item.dataset.status).reverse(),
    );
    assert.deepEqual(timeline, ["queued", "building", "starting", "running"]);
    const curl = await p.getByTestId("curl-command").textContent();
    assert.ok(curl.includes(`${e2e.server.url}/api/v1/deployments/${deploymentId}/runs`), curl);
    // The example input is filled in; a broken one is refused before sending.
    await p.waitForFunction(() => document.querySelector('[data-testid="run-input"]').value.includes("Ada"));
    await p.getByTestId("run-input").fill("{name: Grace");
    await p.getByTestId("run-submit").click();
    await p.getByTestId("run-form").getByText("Not valid JSON").waitFor();
    await p.getByTestId("run-input").fill('{"name": "Grace"}');
    await p.getByTestId("run-submit").click();
    const answer = p.getByTestId("run-answer");
    await answer.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor();
    assert.match(await answer.getByTestId("run-output").textContent(), /Hello, Grace!/);

    // The dashboard in the other page got it live.
    const row = watcher.getByTestId("recent-run");
    await row.locator('[data-status="succeeded"]').waitFor();
    assert.equal(await row.count(), 1);
    assert.ok((await row.textContent()).includes("Echo Bot"));
    await card.getByTestId("card-last-run").locator('[data-status="succeeded"]').waitFor();

    // So did this page's history, log tail and metrics.
    await p.getByTestId("runs").locator('tr[data-run] [data-status="succeeded"]').waitFor();
    const logs = p.getByTestId("log-lines");
    await logs.getByText("greeting Grace").waitFor();
    await p.getByTestId("metric-runs").filter({ hasText: /^1$/ }).waitFor();
    assert.equal(await p.getByTestId("metric-errors").textContent(), "0.0 %");
    assert.equal(await p.getByTestId("chart-runs").locator("rect.bar").count(), 1);
    // The level filter hides info lines and keeps warnings.
    await p.getByTestId("log-level").selectOption("warn");
    await logs.getByText("config says nothing").waitFor();
    assert.equal(await logs.getByText("greeting Grace").count(), 0);
    await p.getByTestId("log-level").selectOption("debug");

    // Paused, the tail holds new lines back and counts them.
    await p.getByTestId("log-pause").click();
    await p.getByTestId("run-input").fill('{"name": "Linus"}');
    await p.getByTestId("run-submit").click();
    await answer.getByText("Hello, Linus!").waitFor();
    await p.getByTestId("log-pause").filter({ hasText: /Resume \(\d+ new\)/ }).waitFor();
    assert.equal(await logs.getByText("greeting Linus").count(), 0);
    await p.getByTestId("log-pause").click();
    await logs.getByText("greeting Linus").waitFor();
    await watcher.getByTestId("recent-run").nth(1).waitFor();

    // The run page: input, output, logs and the numbers.
    await answer.getByTestId("run-link").click();
    await p.waitForURL("**/runs/*");
    await p.getByTestId("run-status").and(p.locator('[data-status="succeeded"]')).waitFor();
    assert.match(await p.getByTestId("run-output").textContent(), /Hello, Linus!/);
    assert.match(await p.getByTestId("run-input-shown").textContent(), /Linus/);
    assert.match(await p.getByTestId("run-logs").textContent(), /greeting Linus/);
    assert.match(await p.getByTestId("run-facts").textContent(), /Fuel\s*\d+/);
    await p.getByTestId("run-deployment").click();
    await p.waitForURL(`**/deployments/${deploymentId}`);

    // Config and a secret, saved from the page; the next run reads the config.
    await p.getByTestId("config-input").fill('{"greeting": "Ahoy"}');
    await p.getByTestId("config-save").click();
    await p.getByTestId("deployment-settings").getByText("Saved.").waitFor();
    await p.getByTestId("config-input").fill('{"greeting": 3}');
    await p.getByTestId("config-save").click();
    await p.getByTestId("deployment-settings").locator(".field-error").filter({ hasText: /greeting.*not/ }).waitFor();
    await p.getByTestId("secret-name").fill("API_TOKEN");
    await p.getByTestId("secret-value").fill("s3cr3t-value");
    await p.getByTestId("secret-save").click();
    await p.getByTestId("secrets").getByText("API_TOKEN").waitFor();
    assert.equal(await p.getByText("s3cr3t-value").count(), 0, "a secret's value is never shown");
    await p.getByTestId("run-input").fill('{"name": "Ken"}');
    await p.getByTestId("run-submit").click();
    await answer.getByText("Ahoy, Ken!").waitFor();

    // Stop and start again: the badges here and on the dashboard follow.
    await p.getByTestId("stop").click();
    await p.getByTestId("deployment-status").and(p.locator('[data-status="stopped"]')).waitFor();
    await card.locator('[data-testid="deployment-status"][data-status="stopped"]').waitFor();
    await p.getByTestId("start").click();
    await p.getByTestId("deployment-status").and(p.locator('[data-status="running"]')).waitFor();
    await card.locator('[data-testid="deployment-status"][data-status="running"]').waitFor();

    assert.deepEqual(errors, []);
    await context.close();
  });

  test("another user's deployment page says it does not exist", async () => {
    const owner = await e2e.browser.newContext();
    const a = await owner.newPage();
    a.setDefaultTimeout(TIMEOUT);
    await signUp(a, e2e.server, "Owner Olga", "olga@example.com");
    const slug = await publishAgent(a, e2e.server.url, "Olga Bot", ECHO);
    const me = await (await a.request.get(e2e.server.url + "/api/v1/me")).json();
    const created = await a.request.post(e2e.server.url + "/api/v1/deployments", {
      headers: { "x-csrf-token": me.csrf_token },
      data: { agent: slug },
    });
    assert.equal(created.status(), 202, await created.text());
    const { id } = await created.json();

    const stranger = await (await e2e.browser.newContext()).newPage();
    stranger.setDefaultTimeout(TIMEOUT);
    await signUp(stranger, e2e.server, "Stranger Sam", "sam@example.com");
    await stranger.goto(`${e2e.server.url}/deployments/${id}`);
    await stranger.getByTestId("error-panel").waitFor();
    assert.equal(await stranger.getByTestId("deployment-status").count(), 0);
    await stranger.goto(e2e.server.url + "/dashboard");
    await stranger.getByTestId("no-deployments").waitFor();
    // The queue page, and the mail outbox on it, are for platform
    // administrators only: both refuse, and no one's mail shows.
    await stranger.goto(e2e.server.url + "/admin/jobs");
    await stranger.getByTestId("outbox").getByTestId("error-panel").getByText("administrators").waitFor();
    const refusals = stranger.getByTestId("error-panel").filter({ hasText: "administrators" });
    await refusals.nth(1).waitFor();
    assert.equal(await refusals.count(), 2);
    assert.equal(await stranger.getByTestId("outbox-mail").count(), 0);
    await owner.close();
  });
});
