// The connections journey in headless Chromium against the real server and
// a strict local OAuth provider: an author publishes an agent that reads
// the user's items at the provider; the user connects their account from
// the Integrations page (searching the catalogue, choosing a scope, the
// provider's consent page, back with the account shown), deploys the agent
// and binds the connection in the deploy step after its consent screen; a
// run reads the items through the host; unbinding stops it; a grant ended
// at the provider breaks the connection (a banner says so); disconnecting
// revokes it at the provider.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { signUp } from "./agents.mjs";
import { OAuthStandIn } from "./oauth_provider.mjs";

const TIMEOUT = 30_000;

const READER = `export default function run(input, ctx) {
  const answer = ctx.connections.standin.fetch("/items");
  return { status: answer.status, items: answer.json().items };
}
`;

describe("Agentdeck connections", () => {
  const provider = new OAuthStandIn();
  const e2e = journey({ standIns: [provider], env: () => provider.env() });

  before(() => {
    provider.appUrl = e2e.server.url;
  });

  test("connect an account, bind it with consent in the deploy step, run, unbind, break and disconnect", async () => {
    const context = await e2e.browser.newContext();
    const p = await context.newPage();
    p.setDefaultTimeout(TIMEOUT);
    const errors = [];
    p.on("pageerror", (e) => errors.push(e));
    await signUp(p, e2e.server, "Ada Lovelace", "ada@example.com");
    const url = e2e.server.url;
    const me = await (await p.request.get(url + "/api/v1/me")).json();
    const headers = { "x-csrf-token": me.csrf_token };

    // An agent that asks for the stand-in's items:read.
    const created = await p.request.post(url + "/api/v1/agents", { headers, data: { name: "Item Reader" } });
    assert.equal(created.status(), 201, await created.text());
    const { slug } = await created.json();
    const draft = await (await p.request.get(`${url}/api/v1/agents/${slug}/draft`)).json();
    const saved = await p.request.put(`${url}/api/v1/agents/${slug}/draft`, {
      headers,
      data: {
        ...draft,
        source: READER,
        manifest: {
          ...draft.manifest,
          capabilities: { ...draft.manifest.capabilities, connections: [{ provider: "standin", scopes: ["items:read"] }] },
        },
        example_input: "{}",
      },
    });
    assert.equal(saved.status(), 200, await saved.text());
    const published = await p.request.post(`${url}/api/v1/agents/${slug}/versions`, { headers, data: { version: "1.0.0" } });
    assert.equal(published.status(), 201, await published.text());

    // The Integrations page, from the account menu: the catalogue searched.
    await p.goto(url + "/dashboard");
    await p.getByTestId("user-menu").locator(".user-button").click();
    await p.getByTestId("integrations-link").click();
    await p.waitForURL("**/integrations");
    await p.getByTestId("no-connections").waitFor();
    const providers = p.getByTestId("providers");
    await providers.getByTestId("provider").first().waitFor();
    assert.ok((await providers.getByTestId("provider").count()) >= 12, "the catalogue is listed");
    // GitHub has no app configured on this server.
    await providers.locator('[data-provider="github"]').getByTestId("unavailable").waitFor();
    await p.getByLabel("Search providers").fill("local oauth");
    await p.waitForFunction(() => document.querySelectorAll('[data-testid="provider"]').length === 1);
    const card = providers.locator('[data-provider="standin"]');
    await card.getByTestId("connect").click();
    const form = card.getByTestId("connect-form");
    await form.getByLabel(/items:read/).check();
    await form.getByTestId("connect-submit").click();

    // The provider's consent page, then back with the account shown.
    await p.waitForURL(`${provider.url}/authorize**`);
    assert.match(await p.locator("body").innerText(), /profile items:read/);
    await p.getByRole("button", { name: "Allow" }).click();
    await p.waitForURL("**/integrations?connected=*");
    await p.getByTestId("connected").waitFor();
    const row = p.getByTestId("connection").filter({ hasText: "Stand-in" });
    assert.equal(await row.getByTestId("connection-account").innerText(), "Ada at the stand-in");
    assert.equal(await row.getByTestId("connection-status").textContent(), "active");

    // Deploy from the agent's page; bind in the deploy step, after consent.
    await p.goto(`${url}/agents/${slug}`);
    await p.getByTestId("deploy").click();
    const progress = p.getByTestId("deploy-progress");
    await progress.locator('[data-testid="deployment-status"][data-status="running"]').waitFor();
    const need = progress.getByTestId("need");
    await need.getByTestId("unbound").waitFor();
    await need.getByTestId("review").click();
    const consent = need.getByTestId("consent");
    const said = await consent.innerText();
    assert.match(said, /Let Item Reader act as Ada at the stand-in at Stand-in\?/);
    assert.match(said, /Item Reader 1\.0\.0, written by Ada Lovelace/);
    assert.match(await consent.getByTestId("consent-scopes").innerText(), /items:read — Read your items/);
    assert.ok(await consent.getByTestId("bind").isDisabled(), "binding waits for the agreement");
    await consent.getByTestId("agree").check();
    await consent.getByTestId("bind").click();
    await need.getByTestId("bound").filter({ hasText: "Ada at the stand-in" }).waitFor();

    // A run reads the items through the host.
    await progress.getByTestId("open-deployment").click();
    await p.waitForURL("**/deployments/*");
    const id = p.url().split("/").pop().split("#")[0];
    const runOnce = async () => {
      const run = await p.request.post(`${url}/api/v1/deployments/${id}/runs`, { headers, data: { input: {} } });
      assert.equal(run.status(), 200, await run.text());
      return (await p.request.get(`${url}/api/v1/runs/${(await run.json()).id}`)).json();
    };
    const ran = await runOnce();
    assert.equal(ran.status, "succeeded", JSON.stringify(ran));
    assert.deepEqual(ran.output.items, ["tea", "biscuits"]);

    // Unbinding from the deployment page stops the next call.
    const panel = p.getByTestId("connections-panel");
    await panel.getByTestId("bound").waitFor();
    await panel.getByTestId("unbind").click();
    await panel.getByTestId("unbound").waitFor();
    const calls = provider.apiCalls.length;
    const refused = await runOnce();
    assert.equal(refused.status, "failed", JSON.stringify(refused));
    assert.match(refused.error.message, /no standin connection is bound/);
    assert.equal(provider.apiCalls.length, calls, "the provider was not called");

    // Bound again; the person ends the grant at the provider: the next run
    // breaks the connection, and the Integrations page says so.
    await panel.getByTestId("review").click();
    await panel.getByTestId("agree").check();
    await panel.getByTestId("bind").click();
    await panel.getByTestId("bound").waitFor();
    provider.endEveryGrant();
    const broken = await runOnce();
    assert.equal(broken.status, "failed", JSON.stringify(broken));
    await p.goto(url + "/integrations");
    await p.getByTestId("broken-banner").filter({ hasText: "Stand-in" }).waitFor();
    assert.equal(await p.getByTestId("connection-status").textContent(), "broken");

    // Disconnecting asks first, then revokes at the provider.
    p.once("dialog", (dialog) => dialog.accept());
    await p.getByTestId("disconnect").click();
    await p.getByTestId("no-connections").waitFor();
    assert.equal(provider.revocations, 1);

    assert.deepEqual(errors, []);
    await context.close();
  });
});
