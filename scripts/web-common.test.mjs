// `node --test scripts/*.test.mjs`: what the web build must never do.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { refuseToReplace } from "./web-common.mjs";

const scratch = () => mkdtempSync(join(tmpdir(), "web-common-"));

test("an earlier build, an empty or a missing directory may be replaced", () => {
  const root = scratch();
  const built = join(root, "dist");
  mkdirSync(built);
  writeFileSync(join(built, ".inputs"), "x");
  refuseToReplace(built, root);
  const trunk = join(root, "old");
  mkdirSync(trunk);
  writeFileSync(join(trunk, "index.html"), "<!doctype html>");
  refuseToReplace(trunk, root);
  const empty = join(root, "empty");
  mkdirSync(empty);
  refuseToReplace(empty, root);
  refuseToReplace(join(root, "missing"), root);
  const staging = join(root, "dist.staging");
  mkdirSync(staging);
  writeFileSync(join(staging, ".staging"), "");
  writeFileSync(join(staging, "frontend.js"), "x");
  refuseToReplace(staging, root);
});

test("the checkout, a directory holding it, a repository or other files are refused", () => {
  const root = scratch();
  const checkout = join(root, "agentdeck");
  mkdirSync(checkout);
  writeFileSync(join(checkout, "index.html"), "a page of the checkout's own");
  assert.throws(() => refuseToReplace(checkout, checkout), /refusing to replace/);
  assert.throws(() => refuseToReplace(root, checkout), /refusing to replace/);
  assert.throws(() => refuseToReplace("/", checkout), /refusing to replace/);
  const repository = join(root, "repo");
  mkdirSync(join(repository, ".git"), { recursive: true });
  writeFileSync(join(repository, "index.html"), "x");
  assert.throws(() => refuseToReplace(repository, checkout), /refusing to replace/);
  const beside = join(root, "agentdeck.staging");
  mkdirSync(beside);
  writeFileSync(join(beside, "keep.txt"), "someone's file");
  assert.throws(() => refuseToReplace(beside, checkout), /refusing to replace/);
  const site = join(root, "site");
  mkdirSync(site);
  writeFileSync(join(site, "photo.jpg"), "x");
  assert.throws(() => refuseToReplace(site, checkout), /refusing to replace/);
});
