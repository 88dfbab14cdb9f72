// Deployments as MCP tools, used by a client we did not write: the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json) over
// Streamable HTTP with an API key holding only `mcp`. It lists the
// workspace's running deployments, calls one with progress, reads the
// structured result, hears `tools/list_changed` when a deployment starts and
// stops, and gets a failed run as an error result.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePort, makeDataDir, removeDataDir, Server } from "./harness.mjs";
import { apiAccount, callApi, deployAgent, makeKey, waitForStatus } from "./agents.mjs";

const ECHO = `export default async function run(input, ctx) {
  ctx.log.info("echoing");
  return { echoed: input.text };
}
`;
const FAILS = `export default async function run(input) {
  throw new Error("asked to fail");
}
`;

/** Resolves when `check` holds, polling. */
async function until(check, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

describe("MCP with the official TypeScript SDK", () => {
  let server;
  let dataDir;

  before(async () => {
    dataDir = makeDataDir();
    server = new Server(dataDir, await freePort());
    await server.start();
  });

  after(async () => {
    await server?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  test("a client lists, calls with progress, hears list changes and reads failures", { timeout: 120_000 }, async () => {
    const account = await apiAccount(server, "mcp-sdk@example.com", ["agents:write", "deployments:write", "runs:read"]);
    const schemas = {
      input_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      output_schema: { type: "object", properties: { echoed: { type: "string" } }, required: ["echoed"] },
    };
    const echo = await deployAgent(server, account.key, { name: "Echo", source: ECHO, manifest: schemas, deployment: "echo", example: '{"text": "hi"}' });
    await deployAgent(server, account.key, { name: "Fails", source: FAILS, deployment: "fails" });
    const mcpKey = await makeKey(server, account, ["mcp"], "sdk");

    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${mcpKey}` } },
    });
    const changes = [];
    const client = new Client(
      { name: "agentdeck-e2e", version: "1.0.0" },
      { listChanged: { tools: { onChanged: (error, tools) => changes.push({ error, tools }), debounceMs: 0 } } },
    );
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, "agentdeck");
    assert.ok(client.getServerCapabilities().tools?.listChanged, "list_changed is advertised");

    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), ["echo", "fails"]);
    const tool = tools[0];
    assert.equal(tool.title, "echo");
    assert.deepEqual(tool.inputSchema.required, ["text"]);
    assert.equal(tool.outputSchema.type, "object");

    // A call: progress for each status the run reaches, then the output as
    // structured content (which the SDK checks against the output schema).
    const progress = [];
    const result = await client.callTool({ name: "echo", arguments: { text: "hi" } }, undefined, {
      onprogress: (note) => progress.push(note),
      resetTimeoutOnProgress: true,
      timeout: 60_000,
    });
    assert.equal(result.isError, false, JSON.stringify(result));
    assert.deepEqual(result.structuredContent, { echoed: "hi" });
    assert.equal(JSON.parse(result.content[0].text).echoed, "hi");
    assert.ok(progress.length >= 3, JSON.stringify(progress));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress, JSON.stringify(progress));
    assert.deepEqual([progress[0].message, progress.at(-1).message], ["queued", "succeeded"]);
    // The run, as the REST API shows it: started over MCP.
    const runs = await callApi(server, account.key, "GET", `/deployments/${echo.id}/runs`);
    assert.equal(runs.items[0].trigger, "mcp");
    assert.equal(runs.items[0].status, "succeeded");

    // A run that fails is an error result the model can read.
    const failed = await client.callTool({ name: "fails", arguments: {} });
    assert.equal(failed.isError, true);
    assert.match(failed.content[0].text, /asked to fail/);

    // Input the schema refuses: an error result naming the field.
    const refused = await client.callTool({ name: "echo", arguments: { text: 5 } });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /input\.text/);

    // Stopping a deployment and starting one: the client hears and lists again.
    await callApi(server, account.key, "POST", `/deployments/${echo.id}/stop`, {});
    await until(() => changes.some(({ tools }) => tools && !tools.some((t) => t.name === "echo")), "echo to go");
    await deployAgent(server, account.key, { name: "Second", source: ECHO, deployment: "second", example: '{"text": "hi"}' });
    await until(() => changes.some(({ tools }) => tools?.some((t) => t.name === "second")), "second to come");
    assert.ok(changes.every(({ error }) => !error), JSON.stringify(changes));
    await callApi(server, account.key, "POST", `/deployments/${echo.id}/start`, {});
    await waitForStatus(server, account.key, echo.id, "running");
    await until(() => changes.at(-1)?.tools?.some((t) => t.name === "echo"), "echo to come back");

    await transport.terminateSession();
    await client.close();
    assert.doesNotMatch(server.log, /panicked/);
  });

  test("a key without mcp cannot connect", async () => {
    const account = await apiAccount(server, "mcp-nosdk@example.com", ["runs:write"]);
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${account.key}` } },
    });
    const client = new Client({ name: "agentdeck-e2e", version: "1.0.0" });
    await assert.rejects(client.connect(transport), /403|insufficient_scope|mcp scope/);
  });
});
