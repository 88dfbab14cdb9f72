// A real SMTP server for the browser journeys: aiosmtpd (from PyPI; the
// test command installs it into a virtualenv and names its Python in
// AGENTDECK_TEST_PYTHON) on a free loopback port, its Mailbox handler
// writing every message it accepts into a Maildir that `mail.mjs` reads.
// A stand-in for `journey({ standIns })`: started before the server (whose
// environment `env()` gives), stopped after it.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./harness.mjs";

export class SmtpServer {
  constructor({ python = process.env.AGENTDECK_TEST_PYTHON ?? "python3" } = {}) {
    this.python = python;
    this.log = "";
  }

  /** The server's environment: mail over SMTP to this server. */
  env() {
    return { AGENTDECK_SMTP_URL: `smtp://127.0.0.1:${this.port}` };
  }

  async start() {
    this.dir = mkdtempSync(join(tmpdir(), "agentdeck-e2e-smtp-"));
    // aiosmtpd makes the Maildir (new/, cur/, tmp/) when it does not exist.
    this.maildir = join(this.dir, "Maildir");
    this.port = await freePort();
    this.proc = spawn(
      this.python,
      ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${this.port}`, "-c", "aiosmtpd.handlers.Mailbox", this.maildir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.proc.stdout.on("data", (d) => (this.log += d));
    this.proc.stderr.on("data", (d) => (this.log += d));
    this.exited = new Promise((ok) => this.proc.once("exit", ok));
    this.proc.once("error", (e) => (this.log += `could not start ${this.python}: ${e.message}\n`));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null || this.proc.pid === undefined) break;
      if (await greets(this.port)) return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    await this.stop();
    await new Promise((ok) => setTimeout(ok, 50)); // a spawn error's event
    throw new Error(
      `aiosmtpd did not start on 127.0.0.1:${this.port} with ${this.python} ` +
        `(scripts/setup.sh test installs it and scripts/test.sh sets AGENTDECK_TEST_PYTHON):\n${this.log}`,
    );
  }

  async stop() {
    if (this.proc?.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const killed = setTimeout(() => this.proc.kill("SIGKILL"), 5_000);
      await this.exited;
      clearTimeout(killed);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether an SMTP server on `port` answers with its 220 greeting. */
function greets(port) {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    const done = (answer) => {
      socket.destroy();
      ok(answer);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (d) => {
      socket.end("QUIT\r\n");
      done(String(d).startsWith("220"));
    });
  });
}
