// The authoring journey in headless Chromium against the real server: a new
// author signs up, creates an agent from a template, types code in the
// CodeMirror pane, sees a syntax error marked at its line, fixes it, runs it
// in the sandbox, publishes 1.0.0; another user finds it by a search with a
// typo, reads its capabilities, sees the deploy button and leaves a review.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { journey } from "./harness.mjs";
import { signUp } from "./agents.mjs";

const TIMEOUT = 30_000;

const BROKEN = `export default async function run(input, ctx) {
  const name = input.name;
  let = ;
  return { greeting: "Hello, " + name + "!" };
}
`;

const FIXED = `export default async function run(input, ctx) {
  const name = input.name;
  ctx.log.info("greeting " + name);
  return { greeting: "Hello, " + name + "!" };
}
`;

/** Replaces a code pane's text as if pasted (no auto-closed brackets). */
async function replaceCode(page, testId, text) {
  const content = page.getByTestId(testId).locator(".cm-content");
  await content.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

describe("Agentdeck authoring", () => {
  const e2e = journey();

  test("write, check, test-run and publish an agent; another user finds and reviews it", async () => {
    const author = await (await e2e.browser.newContext()).newPage();
    author.setDefaultTimeout(TIMEOUT);
    const errors = [];
    author.on("pageerror", (e) => errors.push(e));

    await signUp(author, e2e.server, "Ada Lovelace", "ada@example.com");
    await author.goto(e2e.server.url + "/editor");
    await author.getByTestId("new-agent").getByLabel("Name").fill("Haiku Helper");
    await author.getByLabel("Start from").selectOption("blank");
    await author.getByRole("button", { name: "Create agent" }).click();
    await author.waitForURL("**/editor/haiku-helper");

    // The code pane is CodeMirror, loaded on this route only.
    const source = author.getByTestId("source-pane");
    await source.locator(".cm-editor .cm-content").waitFor();
    assert.ok(await source.locator(".cm-lineNumbers").count(), "line numbers");

    // A syntax error, saved with Ctrl-S, is marked at its line.
    await replaceCode(author, "source-pane", BROKEN);
    await author.keyboard.press("Control+S");
    const diagnostic = author.getByTestId("diagnostic");
    await diagnostic.waitFor();
    assert.match(await diagnostic.textContent(), /^Line 3, column \d+/);
    const line3 = source.locator(".cm-line").nth(2);
    await line3.locator(".cm-lintRange-error").first().waitFor();
    assert.equal(await source.locator(".cm-line").nth(1).locator(".cm-lintRange-error").count(), 0);

    // Fixed, the mark goes away.
    await replaceCode(author, "source-pane", FIXED);
    await author.keyboard.press("Control+S");
    await diagnostic.waitFor({ state: "detached" });
    await author.getByTestId("save-state").getByText(/^Saved · revision/).waitFor();

    // The manifest grants the model; the draft saves itself.
    await author.getByTestId("manifest").getByLabel("Language model (llm)").check();
    await author.getByTestId("manifest").getByLabel("Summary").fill("Greets anyone you name, in style");
    await author.getByTestId("save-state").getByText(/^Saved · revision/).waitFor();

    // A test run in the real sandbox.
    // The test input is a JSON pane of its own.
    await author.getByTestId("test-input").locator(".cm-content").waitFor();
    await replaceCode(author, "test-input", '{"name": "Grace"}');
    await author.getByTestId("run").click();
    const output = author.getByTestId("run-output");
    await output.waitFor();
    assert.deepEqual(JSON.parse(await output.textContent()), { greeting: "Hello, Grace!" });
    assert.match(await author.getByTestId("run-logs").textContent(), /greeting Grace/);
    assert.match(await author.getByTestId("run-stats").textContent(), /ms · \d+ fuel/);

    // Publish 1.0.0: what is on screen (the test input just typed is saved
    // first).
    const publish = author.getByTestId("publish");
    assert.equal(await publish.getByLabel("Version").inputValue(), "1.0.0");
    await publish.getByLabel("Changelog").fill("First release");
    await publish.getByRole("button", { name: "Publish version" }).click();
    await author.getByTestId("published").getByText("Published 1.0.0").waitFor();

    // Publishing 1.0.0 again is refused, with the reason.
    await publish.getByLabel("Version").fill("1.0.0");
    await publish.getByRole("button", { name: "Publish version" }).click();
    await publish.getByText("published already", { exact: false }).waitFor();

    // Another user finds it with a typo and reads what it may do.
    const reader = await (await e2e.browser.newContext()).newPage();
    reader.setDefaultTimeout(TIMEOUT);
    reader.on("pageerror", (e) => errors.push(e));
    await signUp(reader, e2e.server, "Grace Hopper", "grace@example.com");
    await reader.goto(e2e.server.url + "/?q=haiku+helpr");
    const card = reader.getByTestId("agent-card").filter({ hasText: "Haiku Helper" });
    await card.waitFor();
    await card.click();
    await reader.waitForURL("**/agents/haiku-helper");
    const capabilities = reader.getByTestId("capabilities");
    await capabilities.getByText("Calls a language model", { exact: false }).waitFor();
    assert.ok(await reader.getByTestId("deploy").isVisible(), "the deploy button is there");
    assert.match(await reader.getByTestId("author-link").textContent(), /Ada Lovelace/);

    // A 4-star review, and the rating follows.
    const form = reader.getByTestId("review-form");
    await form.getByText("4 ★").click();
    await form.getByLabel("Review").fill("Charming greetings, fast.");
    await form.getByRole("button", { name: "Post review" }).click();
    const review = reader.getByTestId("review").filter({ hasText: "Charming greetings" });
    await review.waitFor();
    assert.match(await review.textContent(), /★★★★☆/);
    await reader.getByTestId("rating").getByText("4.0 from 1 ratings", { exact: false }).waitFor();

    // The author archives it: it leaves the marketplace, its page says so
    // and offers no deploy button any more.
    await author.goto(e2e.server.url + "/agents/haiku-helper");
    author.once("dialog", (dialog) => dialog.accept());
    await author.getByTestId("archive").click();
    await author.getByTestId("archived-notice").waitFor();
    assert.equal(await author.getByTestId("archive").textContent(), "Unarchive");
    await reader.goto(e2e.server.url + "/");
    await reader.getByTestId("agent-grid").waitFor();
    await reader.getByRole("searchbox", { name: "Search agents" }).pressSequentially("haiku", { delay: 40 });
    await reader.waitForURL("**/?q=haiku");
    await reader.getByText("No agents match").waitFor();
    assert.equal(await reader.getByTestId("agent-card").filter({ hasText: "Haiku Helper" }).count(), 0);
    await reader.goto(e2e.server.url + "/agents/haiku-helper");
    await reader.getByTestId("archived-notice").waitFor();
    assert.equal(await reader.getByTestId("deploy").count(), 0, "no new deployments");

    assert.deepEqual(errors, [], "no uncaught errors in either page");
  });

  test("an input schema is checked as it is typed and makes the agent page's form", async () => {
    const author = await (await e2e.browser.newContext()).newPage();
    author.setDefaultTimeout(TIMEOUT);
    const errors = [];
    author.on("pageerror", (e) => errors.push(e));
    await signUp(author, e2e.server, "Barbara Liskov", "barbara@example.com");
    await author.goto(e2e.server.url + "/editor");
    await author.getByTestId("new-agent").getByLabel("Name").fill("Form Greeter");
    await author.getByLabel("Start from").selectOption("blank");
    await author.getByRole("button", { name: "Create agent" }).click();
    await author.waitForURL("**/editor/form-greeter");

    // A schema outside the subset is named as it is typed and not saved;
    // a good one is.
    const manifest = author.getByTestId("manifest");
    const schema = manifest.getByLabel("Input schema");
    await schema.fill('{"type": "strin"}');
    await manifest.getByTestId("schema-problem").filter({ hasText: "type: each type is one of" }).waitFor();
    await schema.fill(JSON.stringify({
      type: "object",
      properties: { name: { type: "string", title: "Name", minLength: 2, description: "Who to greet" } },
      required: ["name"],
    }));
    await manifest.getByTestId("schema-problem").waitFor({ state: "detached" });
    await author.getByTestId("save-state").getByText(/^Saved · revision/).waitFor();

    // The example input is checked against it live.
    await author.getByTestId("test-input").locator(".cm-content").waitFor();
    await replaceCode(author, "test-input", "{}");
    await author.getByTestId("example-problems").getByText("example_input.name").waitFor();
    await replaceCode(author, "test-input", '{"name": "Grace"}');
    await author.getByTestId("example-problems").waitFor({ state: "detached" });
    const publish = author.getByTestId("publish");
    await publish.getByRole("button", { name: "Publish version" }).click();
    await author.getByTestId("published").getByText("Published 1.0.0").waitFor();

    // The agent page's try panel is a form from the schema, checked live.
    await author.goto(e2e.server.url + "/agents/form-greeter");
    const form = author.getByTestId("try-input");
    const name = form.locator('[data-field="name"]');
    await name.getByText("Who to greet").waitFor();
    await name.locator("input, textarea").fill("G");
    await form.getByTestId("input-problems").getByText("must be at least 2 characters").waitFor();
    await name.locator("input, textarea").fill("Ada");
    await form.getByTestId("input-problems").waitFor({ state: "detached" });
    await author.getByTestId("try-it").getByRole("button", { name: /^Run/ }).click();
    assert.match(await author.getByTestId("try-it").getByTestId("run-output").textContent(), /Hello, Ada!/);
    // The same input as JSON.
    await form.getByTestId("as-json").check();
    assert.deepEqual(JSON.parse(await form.getByTestId("try-json").inputValue()), { name: "Ada" });

    assert.deepEqual(errors, [], "no uncaught errors");
  });
});
