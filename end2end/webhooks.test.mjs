// Outgoing webhooks checked by a verifier we did not write: the official
// Standard Webhooks library (`standardwebhooks` from npm, pinned in
// package.json). A real server posts every event type to a local receiver;
// each delivery must verify with the endpoint's secret, a tampered body must
// not, and after a secret rotation both the new and (during the overlap)
// the old secret verify.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { freePort, makeDataDir, removeDataDir, Server } from "./harness.mjs";
import { apiAccount, callApi, deployAgent } from "./agents.mjs";

const OK = `export default async function run(input) {
  return { ok: true, said: input.say ?? null };
}
`;
const WAITS = (url) => `export default async function run(input, ctx) {
  await ctx.http.fetch("${url}");
  return {};
}
`;
const FAILS = `export default async function run() {
  throw new Error("asked to fail");
}
`;

/** A local receiver: every delivery's headers and raw body. `/slow` never
 * answers (an agent waiting on it runs until cancelled). */
async function receiver() {
  const received = [];
  const http = createServer((request, response) => {
    if (request.url === "/slow") return;
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise((ok) => http.listen(port, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => http.close() };
}

async function until(check, what, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

function headersOf(delivery) {
  return {
    "webhook-id": delivery.headers["webhook-id"],
    "webhook-timestamp": delivery.headers["webhook-timestamp"],
    "webhook-signature": delivery.headers["webhook-signature"],
  };
}

describe("outgoing webhooks with the official Standard Webhooks verifier", () => {
  let server;
  let dataDir;
  let hooks;

  before(async () => {
    dataDir = makeDataDir();
    hooks = await receiver();
    server = new Server(dataDir, await freePort(), {
      AGENTDECK_WEBHOOKS_PRIVATE: "true",
      AGENTDECK_AGENT_PRIVATE_NETWORK: "true",
    });
    await server.start();
  });

  after(async () => {
    await server?.stop();
    hooks?.close();
    if (dataDir) removeDataDir(dataDir);
  });

  test("every event type verifies, a tampered body does not, and a rotation keeps both secrets for the overlap", { timeout: 180_000 }, async () => {
    const account = await apiAccount(server, "hooks@example.com", [
      "agents:write", "deployments:write", "runs:write", "runs:read", "webhooks:write",
    ]);
    const made = await callApi(server, account.key, "POST", "/webhooks/endpoints", {
      url: hooks.url,
      description: "all of it",
      event_types: ["run.succeeded", "run.failed", "run.cancelled", "deployment.status", "credits.low", "agent.published"],
    });
    assert.match(made.secret, /^whsec_/);
    const endpoint = made.endpoint.id;
    const verifier = new Webhook(made.secret);

    // agent.published, deployment.status (queued … running), run.succeeded.
    const ok = await deployAgent(server, account.key, { name: "Hooked", source: OK, deployment: "hooked" });
    await callApi(server, account.key, "POST", `/deployments/${ok.id}/runs`, { input: { say: "hi" } });
    // run.failed.
    const fails = await deployAgent(server, account.key, { name: "Failing", source: FAILS, deployment: "failing" });
    await fetch(`${server.url}/api/v1/deployments/${fails.id}/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${account.key}`, "content-type": "application/json" },
      body: JSON.stringify({ input: {} }),
    });
    // credits.low: a paid marketplace agent takes the 100 starter credits below 100.
    const { id: analytics } = await callApi(server, account.key, "POST", "/deployments", { agent: "analytics" });
    for (let i = 0; ; i++) {
      const shown = await callApi(server, account.key, "GET", `/deployments/${analytics}`);
      if (shown.status === "running") break;
      assert.ok(i < 600, `analytics is ${shown.status}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    const example = {
      metric: "signups",
      series: Array.from({ length: 14 }, (_, day) => ({ date: `2026-02-${String(day + 1).padStart(2, "0")}`, value: 100 + (day % 3) })),
    };
    await callApi(server, account.key, "POST", `/deployments/${analytics}/runs`, { input: example });
    // run.cancelled: a run waiting on a receiver that never answers.
    const slow = new URL(hooks.url);
    const waits = await deployAgent(server, account.key, {
      name: "Waiting",
      source: WAITS(`http://${slow.host}/slow`),
      manifest: { capabilities: { http: [slow.host] } },
      deployment: "waiting",
    });
    const waiting = await callApi(server, account.key, "POST", `/deployments/${waits.id}/runs`, { input: {}, mode: "async" });
    for (let i = 0; ; i++) {
      const run = await callApi(server, account.key, "GET", `/runs/${waiting.id}`);
      if (run.status === "running") break;
      assert.ok(i < 400, `the waiting run is ${run.status}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    await callApi(server, account.key, "POST", `/runs/${waiting.id}/cancel`);
    // webhook.test, the button's event.
    await callApi(server, account.key, "POST", `/webhooks/endpoints/${endpoint}/test`);

    const wanted = ["agent.published", "deployment.status", "run.succeeded", "run.failed", "run.cancelled", "credits.low", "webhook.test"];
    const seen = () => new Set(hooks.received.map((d) => JSON.parse(d.body).type));
    await until(() => wanted.every((type) => seen().has(type)), `every type in ${[...seen()]}`);

    for (const delivery of hooks.received) {
      const verified = verifier.verify(delivery.body, headersOf(delivery));
      assert.equal(verified.type, JSON.parse(delivery.body).type);
      assert.match(delivery.headers["webhook-id"], /^msg_[0-9a-f]{32}$/);
      assert.equal(delivery.headers["content-type"], "application/json");
      // The same delivery with a changed body is refused.
      const tampered = delivery.body.replace(/"type":"/, '"type":"x');
      assert.throws(() => verifier.verify(tampered, headersOf(delivery)), /signature/i);
      // And with another secret.
      assert.throws(() => new Webhook("whsec_" + Buffer.alloc(32, 7).toString("base64")).verify(delivery.body, headersOf(delivery)));
    }
    const succeeded = hooks.received.map((d) => JSON.parse(d.body)).find((e) => e.type === "run.succeeded" && e.data.deployment === ok.id);
    assert.deepEqual(succeeded.data.output, { ok: true, said: "hi" });
    assert.equal(succeeded.data.trigger, "api");
    const low = hooks.received.map((d) => JSON.parse(d.body)).find((e) => e.type === "credits.low");
    assert.equal(low.data.threshold, 100);
    assert.ok(low.data.balance < 100);

    // Rotation: the next deliveries carry both signatures for the overlap.
    const rotated = await callApi(server, account.key, "POST", `/webhooks/endpoints/${endpoint}/rotate-secret`, { overlap_seconds: 3600 });
    assert.notEqual(rotated.secret, made.secret);
    assert.ok(rotated.endpoint.previous_secret_until);
    const before = hooks.received.length;
    await callApi(server, account.key, "POST", `/webhooks/endpoints/${endpoint}/test`);
    const after = await until(() => hooks.received.length > before && hooks.received[hooks.received.length - 1], "the delivery after the rotation");
    assert.equal(after.headers["webhook-signature"].split(" ").length, 2, after.headers["webhook-signature"]);
    assert.equal(new Webhook(rotated.secret).verify(after.body, headersOf(after)).type, "webhook.test");
    assert.equal(verifier.verify(after.body, headersOf(after)).type, "webhook.test");

    // Without overlap, the old secret stops at once.
    const again = await callApi(server, account.key, "POST", `/webhooks/endpoints/${endpoint}/rotate-secret`, { overlap_seconds: 0 });
    const count = hooks.received.length;
    await callApi(server, account.key, "POST", `/webhooks/endpoints/${endpoint}/test`);
    const last = await until(() => hooks.received.length > count && hooks.received[hooks.received.length - 1], "the delivery after the second rotation");
    assert.equal(new Webhook(again.secret).verify(last.body, headersOf(last)).type, "webhook.test");
    assert.throws(() => new Webhook(rotated.secret).verify(last.body, headersOf(last)), /signature/i);

    // The log shows the attempts with the answers.
    const log = await callApi(server, account.key, "GET", `/webhooks/endpoints/${endpoint}/deliveries?limit=100`);
    assert.ok(log.items.length >= wanted.length);
    assert.ok(log.items.every((d) => d.state === "succeeded" && d.attempt_log[0].status === 204), JSON.stringify(log.items[0]));
  });
});
