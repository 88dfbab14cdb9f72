// `node --test scripts/*.test.mjs`: the web embed's build (build-embed.mjs)
// and what its files must never do on a customer's page.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { runInNewContext } from "node:vm";
import { buildEmbed } from "./build-embed.mjs";

const root = resolve(import.meta.dirname, "..");
const out = mkdtempSync(join(tmpdir(), "build-embed-"));
const built = await buildEmbed(out);

test("the launcher keeps its name, the frame's files are content-hashed and named in embed.html", () => {
  const names = built.map((file) => file.name).sort();
  assert.equal(names.length, 4);
  assert.ok(names.includes("embed.js") && names.includes("embed.html"));
  const html = readFileSync(join(out, "embed.html"), "utf8");
  for (const ext of ["js", "css"]) {
    const name = names.find((n) => new RegExp(`^embed-frame-[0-9a-f]{16}\\.${ext}$`).test(n));
    assert.ok(name, `an embed-frame-<hash>.${ext}`);
    assert.ok(html.includes(`"/${name}"`), `embed.html names ${name}`);
  }
  // The frame's policy has script-src 'self': no inline script.
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/);
  for (const name of names.filter((n) => n.endsWith(".js"))) {
    execFileSync(process.execPath, ["--check", join(out, name)]);
  }
});

test("the launcher leaves no globals and warns once about a snippet without data-embed", () => {
  const warnings = [];
  const script = { getAttribute: () => null, setAttribute() {} };
  const context = { document: { currentScript: script }, console: { warn: (...what) => warnings.push(what) } };
  const before = Object.keys(context);
  runInNewContext(readFileSync(join(out, "embed.js"), "utf8"), context);
  assert.deepEqual(Object.keys(context), before);
  assert.equal(warnings.length, 1);
});

test("the launcher throws nothing into a page it cannot work on", () => {
  const warnings = [];
  const context = { document: { get currentScript() { throw new Error("odd page"); } }, console: { warn: () => warnings.push(1) } };
  runInNewContext(readFileSync(join(out, "embed.js"), "utf8"), context);
  assert.equal(warnings.length, 1);
});

test("no embed source parses text as markup", () => {
  const dir = join(root, "embed");
  for (const name of readdirSync(dir, { recursive: true })) {
    if (!/\.js$/.test(name)) continue;
    const source = readFileSync(join(dir, name), "utf8");
    assert.doesNotMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, name);
  }
  assert.ok(existsSync(join(dir, "launcher.js")));
});
