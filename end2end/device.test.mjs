// Signing the command line in through the browser: the real `agentdeck`
// binary runs `login` (RFC 8628's device flow) and prints a link; Ada, signed
// in, opens it, sees what the device calls itself and the scopes it asks
// for (`keys:write` left unticked unless she ticks it), confirms the code
// and approves; the terminal is signed in with a key of the scopes ticked,
// and `whoami` answers as her.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliBin, journey } from "./harness.mjs";
import { signUp } from "./agents.mjs";

const TIMEOUT = 20_000;

/** Runs the command line; its exit code and output, and its output so far
 * while it runs (`lines`). */
function agentdeck(args, configDir) {
  const env = { ...process.env, AGENTDECK_CONFIG_DIR: configDir, NO_COLOR: "1" };
  delete env.AGENTDECK_API_KEY;
  delete env.AGENTDECK_URL;
  const child = spawn(cliBin, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = { out: "", err: "" };
  child.stdout.on("data", (chunk) => { run.out += chunk; });
  child.stderr.on("data", (chunk) => { run.err += chunk; });
  run.done = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  run.child = child;
  return run;
}

async function waitFor(predicate, what) {
  for (let i = 0; i < 400; i++) {
    const value = predicate();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} never came`);
}

describe("Agentdeck device sign-in", () => {
  const e2e = journey();

  test("agentdeck login is approved in the browser, without the scope left unticked", async () => {
    const errors = [];
    const configDir = mkdtempSync(join(tmpdir(), "agentdeck-cli-"));
    try {
      const page = await (await e2e.browser.newContext()).newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (e) => errors.push(e));
      await signUp(page, e2e.server, "Ada Lovelace", "ada@example.com");

      const login = agentdeck(["login", "--url", e2e.server.url, "--no-browser", "--name", "Ada's laptop"], configDir);
      const link = await waitFor(() => login.out.match(/\(or open (\S+)\)/)?.[1], "the link");
      const code = login.out.match(/enter the code ([A-Z]{4}-[A-Z]{4})/)?.[1];
      assert.ok(code, login.out);
      assert.equal(link, `${e2e.server.url}/device?code=${code}`);

      await page.goto(link);
      const request = page.getByTestId("device-request");
      await request.waitFor();
      assert.equal(await page.getByTestId("device-name").textContent(), "“Ada's laptop”");
      assert.equal(await page.getByTestId("device-code").textContent(), code);
      // keys:write starts unticked; Approve waits for the code to be confirmed.
      assert.equal(await request.locator('input[value="keys:write"]').isChecked(), false);
      assert.equal(await request.locator('input[value="deployments:write"]').isChecked(), true);
      assert.equal(await page.getByTestId("device-approve").isDisabled(), true);
      // Same machine, same address: no warning.
      assert.equal(await page.getByTestId("device-elsewhere").count(), 0);
      await page.getByTestId("device-confirm").check();
      await page.getByTestId("device-approve").click();
      await page.getByTestId("device-outcome").getByText("Approved").waitFor();

      assert.equal(await login.done, 0, login.err);
      assert.match(login.out, /Signed in to .* as Ada Lovelace/);
      const whoami = agentdeck(["whoami"], configDir);
      assert.equal(await whoami.done, 0, whoami.err);
      assert.match(whoami.out, /^Ada Lovelace \(@/);
      // The key holds what was left ticked: not keys:write.
      const keys = agentdeck(["keys", "ls"], configDir);
      assert.equal(await keys.done, 1);
      assert.match(keys.err, /keys:write/);

      // The same code cannot be approved twice.
      await page.goto(link);
      await page.getByTestId("device-outcome").getByText("Approved").waitFor();
      assert.deepEqual(errors, []);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});
