// Starts the real server binary (embedded PostgreSQL in a temporary data
// directory, the built SPA from dist/) and headless Chromium for the tests.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "..");

const targetDir = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? root, ".cache", "agentdeck", "target");
export const serverBin = process.env.AGENTDECK_SERVER_BIN ?? join(targetDir, "release", "server");
/** The `agentdeck` command line `cargo test` builds. */
export const cliBin = process.env.AGENTDECK_CLI_BIN ?? join(targetDir, "debug", "agentdeck");
export const distDir = process.env.AGENTDECK_DIST_DIR ?? join(root, "dist");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

export function makeDataDir() {
  const dir = mkdtempSync(join(tmpdir(), "agentdeck-e2e-"));
  // The embedded PostgreSQL may run as an unprivileged user that must enter it.
  chmodSync(dir, 0o755);
  return dir;
}

export function removeDataDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** A running `server` process. */
export class Server {
  constructor(dataDir, port, env = {}) {
    this.env = env;
    this.dataDir = dataDir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.log = "";
  }

  async start() {
    this.proc = spawn(serverBin, [], {
      env: {
        ...process.env,
        DATABASE_URL: "",
        AGENTDECK_DATA_DIR: this.dataDir,
        AGENTDECK_ADDR: `127.0.0.1:${this.port}`,
        AGENTDECK_DIST_DIR: distDir,
        AGENTDECK_HEARTBEAT_MS: "1000",
        // Compiled agents (the JavaScript runner) kept across test servers.
        AGENTDECK_CWASM_DIR: process.env.AGENTDECK_CWASM_DIR
          ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "agentdeck-e2e-cwasm"),
        RUST_LOG: "warn",
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout.on("data", (d) => (this.log += d));
    this.proc.stderr.on("data", (d) => (this.log += d));
    this.exited = new Promise((ok) => this.proc.once("exit", ok));
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      // Exited, or killed by a signal (an abort on a panic in a destructor).
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) break;
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((ok) => setTimeout(ok, 200));
    }
    throw new Error(`server did not become ready:\n${this.log}`);
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    await this.exited;
  }
}

/**
 * Headless Chromium; `options` go to `chromium.launch`, `args` added to ours.
 *
 * Every context it opens reports the page's Content-Security-Policy
 * violations (a blocked script, style, image or connection) into
 * `browser.cspViolations`; `journey` fails a file that has any, so every
 * journey passes under the server's enforced policy.
 */
export async function launchBrowser({ args = [], ...options } = {}) {
  const browser = await launch({ args, ...options });
  browser.cspViolations = [];
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (contextOptions) => {
    const context = await newContext(contextOptions);
    await context.exposeBinding("__agentdeckCspViolation", ({ page }, violation) => {
      browser.cspViolations.push({ page: page?.url(), ...violation });
    });
    await context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__agentdeckCspViolation({
          directive: e.effectiveDirective,
          blocked: e.blockedURI,
          sample: e.sample,
          source: `${e.sourceFile}:${e.lineNumber}`,
        });
      });
    });
    return context;
  };
  return browser;
}

async function launch({ args = [], ...options }) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    ...options,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      ...args,
    ],
  });
}

/**
 * The fixture of a journey file: call it inside `describe` and it registers
 * `before`/`after` hooks that start, then stop, a server on a fresh data
 * directory and a browser. The returned object's `server`, `browser` and
 * `dataDir` are filled in before the tests run.
 *
 * - `standIns`: objects with `start()` and `stop()` (such as FakeStripe),
 *   started before the server and stopped after it, last first.
 * - `env`: extra server environment, or a function returning it, called once
 *   the stand-ins are up (so it may use their addresses).
 * - `browser`: options for `launchBrowser`.
 *
 * Hooks a file registers after this call run once all of that is up.
 */
export function journey({ env = {}, standIns = [], browser: browserOptions = {} } = {}) {
  const fixture = { server: undefined, browser: undefined, dataDir: undefined };
  const started = [];

  before(async () => {
    for (const standIn of standIns) {
      await standIn.start();
      started.push(standIn);
    }
    fixture.dataDir = makeDataDir();
    const serverEnv = typeof env === "function" ? await env() : env;
    fixture.server = new Server(fixture.dataDir, await freePort(), serverEnv);
    await fixture.server.start();
    fixture.browser = await launchBrowser(browserOptions);
  });

  after(async () => {
    const violations = fixture.browser?.cspViolations ?? [];
    await fixture.browser?.close();
    await fixture.server?.stop();
    for (const standIn of started.reverse()) await standIn.stop();
    if (fixture.dataDir) removeDataDir(fixture.dataDir);
    if (violations.length > 0) {
      throw new Error(`Content-Security-Policy violations:\n${JSON.stringify(violations, null, 2)}`);
    }
  });

  return fixture;
}
