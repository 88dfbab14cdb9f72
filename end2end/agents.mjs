// What the journeys and the deploy benchmark share: a verified account, a
// published agent, and a recorder of the deploy badge's statuses.

import assert from "node:assert/strict";
import { outboxOf, waitForLink } from "./mail.mjs";

const PASSWORD = "correct horse battery staple";

export const ECHO = `export default async function run(input, ctx) {
  ctx.log.info("greeting " + input.name);
  const greeting = ctx.config.get("greeting");
  ctx.log.warn("config says " + (greeting ?? "nothing"));
  return { greeting: (greeting ?? "Hello") + ", " + input.name + "!" };
}
`;

/** Signs up through the form on the harness `server` (a `Server`: its
 * `url`, and its `dataDir` whose outbox the verification mail goes to),
 * then follows the mailed link, so the account may create keys, publish,
 * join teams and buy credits. */
export async function signUp(page, server, name, email) {
  await page.goto(server.url + "/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("user-menu").getByText(name).waitFor();
  await verifyEmail(page, server, email);
}

/** Opens the newest verification link mailed to `email` (read from
 * `mailDir`: by default the server's outbox) in `page`, and waits for the
 * page to say the address is verified. Answers the link. */
export async function verifyEmail(page, server, email, { mailDir = outboxOf(server) } = {}) {
  const link = await waitForLink(mailDir, { to: email, page: "verify-email" });
  assert.ok(link.startsWith(server.url + "/verify-email#token="), `a link to this server: ${link}`);
  await page.goto(link);
  // The link is used by a click, never by the page load (mail scanners).
  await page.getByTestId("confirm-email").click();
  await page.getByTestId("email-verified").waitFor();
  return link;
}

/** Publishes version 1.0.0 of a new agent through the REST API, with the
 * page's session (and its CSRF token). */
export async function publishAgent(page, url, name, source, listing = {}) {
  const me = await (await page.request.get(url + "/api/v1/me")).json();
  const headers = { "x-csrf-token": me.csrf_token };
  const created = await page.request.post(url + "/api/v1/agents", { headers, data: { name } });
  assert.equal(created.status(), 201, await created.text());
  const { slug } = await created.json();
  const draft = await (await page.request.get(`${url}/api/v1/agents/${slug}/draft`)).json();
  const saved = await page.request.put(`${url}/api/v1/agents/${slug}/draft`, {
    headers,
    data: {
      revision: draft.revision,
      listing: { ...draft.listing, ...listing },
      readme: draft.readme,
      source,
      manifest: { ...draft.manifest, capabilities: { ...draft.manifest.capabilities, config: ["greeting"] } },
      example_input: '{"name": "Ada"}',
    },
  });
  assert.equal(saved.status(), 200, await saved.text());
  const published = await page.request.post(`${url}/api/v1/agents/${slug}/versions`, {
    headers,
    data: { version: "1.0.0" },
  });
  assert.equal(published.status(), 201, await published.text());
  return slug;
}

/** Records every status the deploy badge shows, with the time since the
 * click on Deploy (both read in the page). */
export async function watchBadge(page) {
  await page.evaluate(() => {
    window.__badges = [];
    window.__clicked = null;
    document.querySelector('[data-testid="deploy"]').addEventListener("click", () => {
      window.__clicked = performance.now();
    }, { capture: true });
    const seen = () => {
      const badge = document.querySelector('[data-testid="deploy-progress"] [data-testid="deployment-status"]');
      const status = badge?.dataset.status;
      if (status && window.__badges.at(-1)?.status !== status) {
        window.__badges.push({ status, ms: performance.now() - window.__clicked });
      }
    };
    // Kept on the window: an observer nothing refers to may be collected.
    window.__badgeObserver = new MutationObserver(seen);
    window.__badgeObserver.observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
    seen();
  });
}

/** A verified account made through the API (no browser), and an API key
 * of it holding `scopes`: `{ key, cookie, csrf }`. */
export async function apiAccount(server, email, scopes) {
  const signup = await fetch(`${server.url}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: email.split("@")[0], email, password: PASSWORD }),
  });
  const me = await signup.text();
  assert.equal(signup.status, 201, me);
  const cookie = signup.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const { csrf_token: csrf } = JSON.parse(me);
  const link = await waitForLink(outboxOf(server), { to: email, page: "verify-email" });
  const token = decodeURIComponent(new URL(link).hash.replace(/^#token=/, ""));
  const verified = await fetch(`${server.url}/api/v1/auth/verify-email`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
    body: JSON.stringify({ token }),
  });
  assert.ok(verified.ok, await verified.text());
  const key = await makeKey(server, { cookie, csrf }, scopes);
  return { key, cookie, csrf };
}

/** Another API key of a signed-in account (`{ cookie, csrf }`). */
export async function makeKey(server, { cookie, csrf }, scopes, name = "test") {
  const made = await fetch(`${server.url}/api/v1/api-keys`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
    body: JSON.stringify({ name, scopes }),
  });
  const answer = await made.text();
  assert.equal(made.status, 201, answer);
  const { token: key } = JSON.parse(answer);
  assert.ok(key?.startsWith("adk_"), "a key");
  return key;
}

/** Calls the REST API with `key`; the parsed answer (asserting success). */
export async function callApi(server, key, method, path, body) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Publishes an agent of `source` (and `manifest` changes) through the API
 * and deploys it as `deployment` (its name), waiting until it runs; its
 * slug and deployment id. Needs a key holding agents:write and
 * deployments:write. */
export async function deployAgent(server, key, { name, source, manifest = {}, deployment = name, example = "{}" }) {
  const { slug } = await callApi(server, key, "POST", "/agents", { name });
  const draft = await callApi(server, key, "GET", `/agents/${slug}/draft`);
  await callApi(server, key, "PUT", `/agents/${slug}/draft`, {
    ...draft,
    source,
    manifest: { ...draft.manifest, ...manifest },
    example_input: example,
  });
  await callApi(server, key, "POST", `/agents/${slug}/versions`, { version: "1.0.0" });
  const { id } = await callApi(server, key, "POST", "/deployments", { agent: slug, name: deployment });
  await waitForStatus(server, key, id, "running");
  return { slug, id };
}

/** Waits until deployment `id` has `status`. */
export async function waitForStatus(server, key, id, status) {
  for (let i = 0; ; i++) {
    const shown = await callApi(server, key, "GET", `/deployments/${id}`);
    if (shown.status === status) return;
    assert.ok(shown.status !== "failed" && i < 600, `the deployment is ${shown.status}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
