// The API against its own description, checked by a client we did not
// write: Schemathesis (pinned in scripts/common.sh, from PyPI) reads
// /api/v1/openapi.json from the real server and calls every operation not
// excluded in end2end/schemathesis.toml with generated requests, as a
// verified account's API key holding every scope. It fails on any server
// error (5xx), any answer whose status, content type, headers or body the
// document does not describe.
//
// Also here: the readable reference at /docs/api renders the document in
// Chromium under its own Content-Security-Policy.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { launchBrowser, makeDataDir, removeDataDir, freePort, Server } from "./harness.mjs";
import { apiAccount, callApi, deployAgent } from "./agents.mjs";

const root = resolve(import.meta.dirname, "..");
const venv = process.env.AGENTDECK_TEST_VENV
  ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME, ".cache"), "agentdeck", "venv");
/** The whole run's budget: Schemathesis is stopped (and the test fails) after it. */
const BUDGET_MS = 300_000;

/** A verified account's API key holding every scope, made through the API. */
async function keyWithEveryScope(server) {
  const scopes = ["agents:read", "agents:write", "deployments:write", "runs:read", "runs:write", "billing:read", "audit:read", "keys:write", "mcp"];
  return apiAccount(server, "contract@example.com", scopes);
}

/** What the generated requests reach beyond 404s: an agent of the key's
 * account with a published version, a running deployment of it, and a
 * finished run (their names go to end2end/schemathesis.toml through the
 * environment). */
async function somethingToCall(server, key) {
  const source = "export default async function run(input, ctx) {\n  ctx.log.info(\"echo\");\n  return { echoed: input };\n}\n";
  const { slug, id: deployment } = await deployAgent(server, key, { name: "Contract echo", source, example: '{"text": "hi"}' });
  const run = await callApi(server, key, "POST", `/deployments/${deployment}/runs`, { input: { text: "hi" } });
  // What the deleting operations may take without taking the above away.
  const { slug: scrap } = await callApi(server, key, "POST", "/agents", { name: "Contract scrap" });
  const { id: scrapDeployment } = await callApi(server, key, "POST", "/deployments", { agent: slug });
  return {
    AGENTDECK_CONTRACT_SLUG: slug,
    AGENTDECK_CONTRACT_DEPLOYMENT: deployment,
    AGENTDECK_CONTRACT_RUN: run.id,
    AGENTDECK_CONTRACT_SCRAP_SLUG: scrap,
    AGENTDECK_CONTRACT_SCRAP_DEPLOYMENT: scrapDeployment,
  };
}

/** A team of the account (teams are managed with a session only). */
async function aTeam(server, { cookie, csrf }) {
  const response = await fetch(`${server.url}/api/v1/teams`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
    body: JSON.stringify({ name: "Contract team" }),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text).slug;
}

/** The operations of the document, but the server functions, by who may
 * call them: `session` only a browser session (no bearer alternative),
 * `open` anyone (an empty requirement). */
async function operationsByCaller(server) {
  const document = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
  const session = [];
  const open = [];
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      if (operation.tags?.includes("server-fn")) continue;
      const security = operation.security ?? [];
      const has = (scheme) => security.some((requirement) => scheme in requirement);
      if (security.some((requirement) => Object.keys(requirement).length === 0)) open.push(operation.operationId);
      else if (has("session") && !has("bearer")) session.push(operation.operationId);
    }
  }
  return { session, open };
}

function schemathesis(args, env, cwd) {
  return new Promise((ok, fail) => {
    const child = spawn(join(venv, "bin", "schemathesis"), args, {
      // Its cache (.schemathesis/) goes with the test's data directory.
      cwd,
      env: { ...process.env, ...env, NO_COLOR: "1", PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
      process.stderr.write(d);
    });
    child.stderr.on("data", (d) => {
      output += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), BUDGET_MS);
    child.once("error", fail);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, output });
    });
  });
}

/** Runs `work`, then says how long it took and Schemathesis's summary. */
async function timed(what, work) {
  const started = Date.now();
  const outcome = await work();
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const summary = outcome.output.split("\n").filter((line) => /generated|passed|failed|errored/.test(line)).slice(-2).join("\n");
  console.error(`schemathesis ${what}: ${seconds} s\n${summary}`);
  return outcome;
}

describe("the API's contract", () => {
  let server;
  let dataDir;

  before(async () => {
    dataDir = makeDataDir();
    // Schemathesis sends thousands of requests from one address with one
    // key: the test server's API budget is raised out of its way (the
    // limits themselves are tested in the integration tests).
    server = new Server(dataDir, await freePort(), {
      AGENTDECK_API_LIMIT: "1000000/60",
      AGENTDECK_DEVICE_LIMIT: "1000000/60",
      // A synchronous run answers 202 after this wait, well inside the
      // request timeout of schemathesis.toml.
      AGENTDECK_RUN_WAIT_MS: "2000",
      // Generated endpoint URLs are not looked up in DNS (an offline
      // machine's resolver may take seconds for each).
      AGENTDECK_WEBHOOKS_PRIVATE: "true",
    });
    await server.start();
  });

  after(async () => {
    await server?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  test("Schemathesis finds no server error and no answer the document does not describe", { timeout: 3 * BUDGET_MS + 60_000 }, async () => {
    const account = await keyWithEveryScope(server);
    const names = await somethingToCall(server, account.key);
    names.AGENTDECK_CONTRACT_TEAM = await aTeam(server, account);
    const config = join(root, "end2end", "schemathesis.toml");
    const common = ["--config-file", config, "run", "--url", server.url, `${server.url}/api/v1/openapi.json`];
    const only = (ids) => ids.flatMap((id) => ["--include-operation-id", id]);
    const { session, open } = await operationsByCaller(server);
    assert.ok(session.includes("create_team") && open.includes("signup"), `${session} / ${open}`);

    // Every operation a key may call, as the key, but revoking a key: a key
    // may revoke itself, and Schemathesis finds its id in the key list.
    const asKey = await timed("as an API key with every scope", () =>
      schemathesis([...common, "-H", `Authorization: Bearer ${account.key}`,
        "--exclude-operation-id", "revoke_api_key"], names, dataDir));
    // Nothing above ended the key: each call was made as it.
    const still = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${account.key}` } });
    assert.equal(still.status, 200, "the key pass ran with a working key");
    // The operations only a browser session may call, as the session
    // (with its CSRF token), but signing out, which would end it; and
    // revoking keys, which the key pass leaves out.
    const asSession = await timed("as a browser session", () =>
      schemathesis(
        [...common, "-H", `Cookie: ${account.cookie}`, "-H", `x-csrf-token: ${account.csrf}`,
          ...only([...session.filter((id) => id !== "logout"), "revoke_api_key"])],
        names,
        dataDir,
      ));
    // The operations anyone may call, as no one (signing up, in, and
    // recovering an account refuse API keys).
    const asAnyone = await timed("as an anonymous caller", () =>
      schemathesis([...common, ...only(open)], names, dataDir));
    for (const [who, { code, signal }] of [["key", asKey], ["session", asSession], ["anonymous", asAnyone]]) {
      assert.equal(signal, null, `schemathesis (${who}) was stopped after ${BUDGET_MS / 1000} s`);
      assert.equal(code, 0, `schemathesis (${who}) found problems (exit ${code}); its report is above`);
    }
    assert.doesNotMatch(server.log, /panicked/, "the server panicked");
  });

  test("/docs/api renders the document under its own policy", async () => {
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const response = await page.goto(`${server.url}/docs/api`);
      assert.equal(response.status(), 200);
      assert.match(response.headers()["content-security-policy"], /worker-src blob:/);
      // Redoc's rendering: the API's title and an operation of each tag.
      await page.getByRole("heading", { name: /Agentdeck API/ }).waitFor({ timeout: 30_000 });
      await page.getByRole("heading", { name: "Start a run" }).waitFor();
      await page.getByRole("heading", { name: "List and search agents" }).waitFor();
      assert.deepEqual(browser.cspViolations, []);
    } finally {
      await browser.close();
    }
  });
});
