// The code editor's bundle (editor/main.js, built into dist/ by
// scripts/build-editor.mjs) and the <agentdeck-code-editor> element that
// app/src/code_editor.rs renders (its JavaScript is a wasm-bindgen snippet in
// dist/snippets/), against the real server: index.html names the bundle, the
// server sends it pre-compressed and immutable; on a bare page, typing,
// brackets, undo, Ctrl-S, search, diagnostics and the app's light and dark
// colours work, and the element loads, fails, leaves and comes back cleanly.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";

const TIMEOUT = 20_000;
const DOC = "export function run(input) {\n  return greet(input.name);\n}\n";

describe("code editor bundle", () => {
  const e2e = journey();
  let editorUrl;
  let cssUrl;
  let snippetUrls;

  before(async () => {
    const html = await (await fetch(e2e.server.url + "/")).text();
    editorUrl = /<meta name="?agentdeck-editor"? content="?([^">\s]+)"?>/.exec(html)?.[1];
    cssUrl = /href="?(\/main-[0-9a-f]+\.css)/.exec(html)?.[1];
    snippetUrls = [...html.matchAll(/href="?(\/snippets\/[^">\s]+\.js)/g)].map((m) => m[1]);
  });

  /** A page on the server's origin with the app's CSS and `script`. */
  async function barePage(script, { colorScheme = "light", bundleFails = false } = {}) {
    const context = await e2e.browser.newContext({ colorScheme });
    const p = await context.newPage();
    if (bundleFails) await p.route("**/editor-*.js", (route) => route.abort());
    p.setDefaultTimeout(TIMEOUT);
    p.errors = [];
    p.on("pageerror", (e) => p.errors.push(e));
    await p.route(e2e.server.url + "/editor-test", (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="agentdeck-editor" content="${editorUrl}">
<link rel="stylesheet" href="${cssUrl}"></head>
<body><div id="host"></div><div id="probe" style="background: var(--surface)"></div>
<script type="module">${script}</script></body></html>`,
      }),
    );
    await p.goto(e2e.server.url + "/editor-test");
    return p;
  }

  /** The bundle's own `mount`, as the element calls it. */
  function editorPage(colorScheme = "light") {
    return barePage(
      `const { mount } = await import(${JSON.stringify(editorUrl)});
  window.changes = [];
  window.saved = [];
  window.addEventListener("keydown", (e) => { if (e.key === "s") window.savePrevented = e.defaultPrevented; });
  window.editor = mount(document.getElementById("host"), {
    doc: ${JSON.stringify(DOC)},
    language: "javascript",
    label: "Agent source",
    onChange: (text) => window.changes.push(text),
    onSave: (text) => window.saved.push(text),
  });`,
      { colorScheme },
    );
  }

  /** The element the Rust component renders, defined by its snippet. */
  function elementPage(options) {
    return barePage(
      `for (const url of ${JSON.stringify(snippetUrls)}) {
    const snippet = await import(url);
    if (snippet.define) snippet.define();
  }
  window.changes = [];
  const element = document.createElement("agentdeck-code-editor");
  element.options = {
    doc: ${JSON.stringify(DOC)},
    language: "javascript",
    label: "Agent source",
    onChange: (text) => window.changes.push(text),
  };
  // Before the editor is there: kept until it is.
  element.diagnostics = [{ line: 2, column: 10, message: "greet is not defined" }];
  window.element = element;
  document.getElementById("host").append(element);`,
      options,
    );
  }

  test("index.html names the bundle and the server sends it compressed and immutable", async () => {
    assert.match(editorUrl ?? "", /^\/editor-[0-9a-f]{16}\.js$/);
    assert.ok(cssUrl, "index.html links the app's CSS");
    const response = await fetch(e2e.server.url + editorUrl, { headers: { "accept-encoding": "br" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), "br");
    assert.match(response.headers.get("cache-control"), /immutable/);
    assert.match(response.headers.get("content-type"), /javascript/);
    assert.match(await response.text(), /export\s*\{/);
  });

  test("typing, closing brackets, undo, Ctrl-S and search", async () => {
    const p = await editorPage();
    const content = p.locator('.cm-content[aria-label="Agent source"]');
    await content.waitFor();
    // JavaScript is highlighted: the keyword has a colour of its own.
    const colours = await p.evaluate(() => {
      const line = document.querySelector(".cm-line");
      const keyword = [...line.querySelectorAll("span")].find((s) => s.textContent === "export");
      return [getComputedStyle(line).color, keyword && getComputedStyle(keyword).color];
    });
    assert.ok(colours[1], "the keyword is a highlighted token");
    assert.notEqual(colours[1], colours[0]);

    await content.click();
    await p.keyboard.press("Control+End");
    await p.keyboard.type("log(");
    const typed = await p.evaluate(() => window.editor.getValue());
    assert.equal(typed, DOC + "log()");
    assert.equal(await p.evaluate(() => window.changes.at(-1)), typed);

    await p.keyboard.press("Control+s");
    assert.deepEqual(await p.evaluate(() => window.saved), [typed]);
    assert.equal(await p.evaluate(() => window.savePrevented), true);

    for (let i = 0; i < 10 && (await p.evaluate(() => window.editor.getValue())) !== DOC; i++) {
      await p.keyboard.press("Control+z");
    }
    assert.equal(await p.evaluate(() => window.editor.getValue()), DOC);

    await p.keyboard.press("Control+f");
    const field = p.locator(".cm-search input[name=search]");
    await field.waitFor();
    await field.fill("input");
    await field.press("Enter");
    await p.locator(".cm-searchMatch").first().waitFor();
    assert.equal(await p.locator(".cm-searchMatch").count(), 2);
    await field.press("Escape");
    await p.locator(".cm-search").waitFor({ state: "detached" });

    // setValue is not the user's edit: no onChange for it.
    const before = await p.evaluate(() => window.changes.length);
    await p.evaluate(() => window.editor.setValue("{}"));
    assert.equal(await p.evaluate(() => window.changes.length), before);
    assert.deepEqual(p.errors, []);
  });

  test("diagnostics are marked at the server's line and column, clamped to the text", async () => {
    const p = await editorPage();
    await p.locator(".cm-content").waitFor();
    await p.evaluate(() =>
      window.editor.setDiagnostics([{ line: 2, column: 10, message: "greet is not defined" }]),
    );
    const mark = p.locator(".cm-lintRange-error");
    await mark.waitFor();
    assert.equal(await mark.textContent(), "greet");
    assert.equal(await p.locator(".cm-gutter-lint .cm-lint-marker-error").count(), 1);

    // Past the end: shown on the last line rather than dropped.
    await p.evaluate(() =>
      window.editor.setDiagnostics([{ line: 99, column: 99, message: "unexpected end", severity: "warning" }]),
    );
    await p.locator(".cm-lint-marker-warning").waitFor();
    assert.equal(await p.locator(".cm-lintRange-error").count(), 0);

    await p.evaluate(() => window.editor.setDiagnostics([]));
    await p.locator(".cm-lint-marker").first().waitFor({ state: "detached" });
    assert.deepEqual(p.errors, []);
  });

  test("the editor takes the app's light and dark colours", async () => {
    const backgrounds = [];
    for (const scheme of ["light", "dark"]) {
      const p = await editorPage(scheme);
      await p.locator(".cm-editor").waitFor();
      const [editor, surface] = await p.evaluate(() => [
        getComputedStyle(document.querySelector(".cm-editor")).backgroundColor,
        getComputedStyle(document.getElementById("probe")).backgroundColor,
      ]);
      assert.equal(editor, surface, `${scheme}: the editor's background is the app's --surface`);
      backgrounds.push(editor);
      assert.deepEqual(p.errors, []);
    }
    assert.notEqual(backgrounds[0], backgrounds[1]);
  });

  test("the element loads the editor, applies early diagnostics, and survives leaving and coming back", async () => {
    assert.ok(snippetUrls.length > 0, "index.html preloads the wasm-bindgen snippets");
    const p = await elementPage();
    await p.locator('agentdeck-code-editor[data-state="ready"]').waitFor();
    assert.equal(await p.getByRole("status").count(), 0, "the loading note is gone");
    assert.equal(await p.locator(".cm-lintRange-error").textContent(), "greet");

    await p.locator('.cm-content[aria-label="Agent source"]').click();
    await p.keyboard.press("Control+End");
    await p.keyboard.type("x");
    assert.equal(await p.evaluate(() => window.changes.at(-1)), DOC + "x");

    await p.evaluate(() => window.element.remove());
    assert.equal(await p.locator(".cm-editor").count(), 0);
    await p.evaluate(() => document.getElementById("host").append(window.element));
    await p.locator(".cm-editor").waitFor();
    assert.equal(await p.locator(".cm-content").textContent(), DOC.replaceAll("\n", "") + "x");
    assert.deepEqual(p.errors, []);
  });

  test("the element says so when the editor cannot be loaded", async () => {
    const p = await elementPage({ bundleFails: true });
    const element = p.locator('agentdeck-code-editor[data-state="failed"]');
    await element.waitFor();
    await element.getByText("The code editor could not be loaded").waitFor();
    assert.equal(await p.locator(".cm-editor").count(), 0);
  });
});
