// Measures what a connection adds to an agent's call: two agents make the
// same ten calls to the same local API per run, one with `ctx.http.fetch`
// (no credential), one with `ctx.connections.standin.fetch` (the host
// finds the binding, reads and decrypts the credential, adds it, and takes
// it out of the answer). The runs' own durations (`duration_us`) are
// compared; the difference over ten calls is the cost of one.
//
//   node end2end/connections_measure.mjs [runs]   (AGENTDECK_SERVER_BIN picks the build)

import assert from "node:assert/strict";
import { Server, freePort, makeDataDir, removeDataDir, serverBin } from "./harness.mjs";
import { apiAccount, callApi, deployAgent } from "./agents.mjs";
import { OAuthStandIn } from "./oauth_provider.mjs";

const runs = Number(process.argv[2] ?? 40);
const CALLS = 10;

const provider = new OAuthStandIn();
await provider.start();
const dataDir = makeDataDir();
const server = new Server(dataDir, await freePort(), provider.env());
await server.start();
provider.appUrl = server.url;
try {
  const { key, cookie, csrf } = await apiAccount(server, "bench@example.com", [
    "agents:write", "deployments:write", "runs:read", "runs:write",
  ]);
  const session = { cookie, "x-csrf-token": csrf, "content-type": "application/json" };

  // Connect through the provider's sign-in, as a browser would.
  const started = await fetch(`${server.url}/api/v1/connections/authorize`, {
    method: "POST", headers: session, body: JSON.stringify({ provider: "standin", scopes: ["items:read"] }),
  });
  assert.equal(started.status, 200, await started.clone().text());
  const flow = started.headers.getSetCookie().find((c) => c.startsWith("agentdeck_connect=")).split(";")[0];
  const { authorize_url } = await started.json();
  const consent = await fetch(authorize_url);
  assert.equal(consent.status, 200);
  const back = await fetch(`${provider.url}/consent`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URL(authorize_url).searchParams.toString(),
  });
  const done = await fetch(back.headers.get("location"), { redirect: "manual", headers: { cookie: `${cookie}; ${flow}` } });
  const connection = new URL(done.headers.get("location"), server.url).searchParams.get("connected");
  assert.ok(connection, done.headers.get("location"));

  const loop = (call) => `export default function run(input, ctx) {
  let n = 0;
  for (let i = 0; i < ${CALLS}; i++) n += ${call}.json().items.length;
  return { n };
}
`;
  const plain = await deployAgent(server, key, {
    name: "Plain caller",
    source: loop(`ctx.http.fetch("${provider.url}/open/items")`),
    manifest: { capabilities: { http: [new URL(provider.url).host] } },
  });
  const credentialed = await deployAgent(server, key, {
    name: "Connected caller",
    source: loop(`ctx.connections.standin.fetch("/items")`),
    manifest: { capabilities: { connections: [{ provider: "standin", scopes: ["items:read"] }] } },
  });
  const bound = await fetch(`${server.url}/api/v1/deployments/${credentialed.id}/connections/standin`, {
    method: "PUT", headers: session,
    body: JSON.stringify({ connection, consented: true, consent: ["profile", "items:read"] }),
  });
  assert.equal(bound.status, 200, await bound.text());

  const durations = async (id) => {
    const list = [];
    // One untimed run first: the first call opens the connection pool.
    for (let i = 0; i <= runs; i++) {
      const run = await callApi(server, key, "POST", `/deployments/${id}/runs`, { input: {} });
      const shown = await callApi(server, key, "GET", `/runs/${run.id}`);
      assert.equal(shown.status, "succeeded", JSON.stringify(shown));
      assert.equal(shown.output.n, 2 * CALLS);
      if (i > 0) list.push(shown.duration_us);
    }
    return list.sort((a, b) => a - b);
  };
  // Interleaved halves, so drift in the machine's speed falls on both.
  const a = [], b = [];
  for (let half = 0; half < 2; half++) {
    a.push(...await durations(plain.id));
    b.push(...await durations(credentialed.id));
  }
  a.sort((x, y) => x - y);
  b.sort((x, y) => x - y);
  const p50 = (list) => list[Math.floor(list.length / 2)];
  const p90 = (list) => list[Math.floor(list.length * 0.9)];
  console.log(`server: ${serverBin}`);
  console.log(`runs per agent: ${a.length}, ${CALLS} calls each`);
  console.log(`ctx.http.fetch run (µs): p50 ${p50(a)}, p90 ${p90(a)}`);
  console.log(`ctx.connections run (µs): p50 ${p50(b)}, p90 ${p90(b)}`);
  console.log(`per call added by the connection (µs, p50): ${((p50(b) - p50(a)) / CALLS).toFixed(0)}; ratio ${(p50(b) / p50(a)).toFixed(2)}`);
} finally {
  await server.stop();
  await provider.stop();
  removeDataDir(dataDir);
}
