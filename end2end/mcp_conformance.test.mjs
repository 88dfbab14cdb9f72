// The MCP conformance suite (@modelcontextprotocol/conformance, server mode,
// pinned in package.json) against /mcp. Its client sends no credentials, so
// a small proxy on localhost adds the API key to every request and passes
// the rest (Host, Origin, the event streams) through unchanged. The
// workspace holds the fixture tools its scenarios call, as deployments of
// agents: test_simple_text, test_error_handling, test_tool_with_progress.
// Scenarios that do not apply to a tool-only server are listed, each with
// its reason, in end2end/mcp-conformance-baseline.yml; the suite exits
// non-zero on any other failure and on a baseline entry that now passes.
//
// 0.1.13 is the newest release that runs on the machines' Node 20 (0.1.14
// and later import fs.globSync, Node 22); its server scenarios are the
// same as 0.1.16's.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, makeDataDir, removeDataDir, Server } from "./harness.mjs";
import { apiAccount, deployAgent, makeKey } from "./agents.mjs";

const root = resolve(import.meta.dirname, "..");

/** A proxy on localhost:`port` to `target` that adds `Authorization`. */
function authProxy(target, token) {
  const upstream = new URL(target);
  return http.createServer((req, res) => {
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    res.on("close", () => out.destroy());
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
}

describe("the MCP conformance suite", () => {
  let server;
  let dataDir;
  let proxy;

  before(async () => {
    dataDir = makeDataDir();
    server = new Server(dataDir, await freePort());
    await server.start();
  });

  after(async () => {
    proxy?.close();
    await server?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  test("every scenario that applies to a tool-only server passes", { timeout: 300_000 }, async () => {
    const account = await apiAccount(server, "mcp-conformance@example.com", ["agents:write", "deployments:write"]);
    const fixtures = [
      ["test_simple_text", 'export default async function run() {\n  return "This is a simple text response for testing.";\n}\n'],
      ["test_error_handling", 'export default async function run() {\n  throw new Error("This tool intentionally returns an error for testing");\n}\n'],
      ["test_tool_with_progress", 'export default async function run(input, ctx) {\n  ctx.log.info("working");\n  return "done";\n}\n'],
    ];
    for (const [name, source] of fixtures) {
      await deployAgent(server, account.key, { name: name.replaceAll("_", " "), source, deployment: name });
    }
    const key = await makeKey(server, account, ["mcp"], "conformance");
    const port = await freePort();
    proxy = authProxy(server.url, key);
    await new Promise((ok) => proxy.listen(port, "localhost", ok));

    const out = mkdtempSync(join(tmpdir(), "agentdeck-conformance-"));
    try {
      const cli = join(root, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
      const child = spawn(process.execPath, [
        cli, "server", "--url", `http://localhost:${port}/mcp`,
        "--expected-failures", join(root, "end2end", "mcp-conformance-baseline.yml"),
        "-o", out,
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let log = "";
      child.stdout.on("data", (d) => (log += d));
      child.stderr.on("data", (d) => (log += d));
      const code = await new Promise((ok) => child.once("exit", ok));
      // What passed, from the results it wrote (one directory per scenario).
      const passed = [];
      const failures = [];
      for (const dir of readdirSync(out, { recursive: true })) {
        if (!String(dir).endsWith("checks.json")) continue;
        const checks = JSON.parse(readFileSync(join(out, String(dir)), "utf8"));
        const failed = checks.filter((check) => check.status === "FAILURE");
        if (failed.length === 0) passed.push(String(dir).split("/")[0]);
        else failures.push(`${String(dir).split("/")[0]}: ${failed.map((c) => `${c.id}: ${c.errorMessage}`).join("; ")}`);
      }
      console.error(`conformance: ${passed.length} scenario(s) passed\n${log.split("\n").filter((l) => /passed|failed|Baseline|✗|✓/.test(l)).join("\n")}`);
      assert.equal(code, 0, `the conformance suite failed:\n${log}\n${failures.join("\n")}`);
      assert.doesNotMatch(server.log, /panicked/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
